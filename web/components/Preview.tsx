"use client";

import { useEffect, useRef, useState } from "react";
import { previewKind } from "@/lib/files";

interface PreviewProps {
  contentType: string;
  name: string;
  /** Bytes; PDFs past PDF_PREVIEW_MAX are not previewed. */
  size?: number;
  /** A signed inline URL, or null while it is being fetched. */
  url: string | null;
  /** Reads the start of a text file (through the backend). */
  readText?: (url: string, maxBytes: number) => Promise<string>;
  /** Reads a whole file (through the backend), for PDFs. */
  readBlob?: (url: string) => Promise<Blob>;
}

const TEXT_PREVIEW_BYTES = 64 * 1024;
/** PDFs are shown from memory (see below), so only up to this size. */
export const PDF_PREVIEW_MAX = 50 * 1000 * 1000;

/**
 * Shows a file inline when its type is safe to show: images, PDF, text,
 * and video/audio (which the browser streams with Range requests).
 */
export function Preview({ contentType, name, size, url, readText, readBlob }: PreviewProps) {
  const kind = previewKind(contentType);
  const [text, setText] = useState<{ url: string; body: string } | null>(null);
  const [failed, setFailed] = useState(false);
  // Callers may pass a new function each render: fetch once per URL all the same.
  const readTextRef = useRef(readText);
  const readBlobRef = useRef(readBlob);
  useEffect(() => {
    readTextRef.current = readText;
    readBlobRef.current = readBlob;
  });
  const [pdf, setPdf] = useState<{ url: string; objectUrl: string } | null>(null);
  const pdfTooLarge = kind === "pdf" && size !== undefined && size > PDF_PREVIEW_MAX;

  // A PDF is framed from a blob: URL, not from the network: the server
  // forbids framing its responses (X-Frame-Options), and a blob: document
  // is not subject to that.
  useEffect(() => {
    const read = readBlobRef.current;
    if (kind !== "pdf" || !url || !read || pdfTooLarge) return;
    let live = true;
    let objectUrl: string | null = null;
    read(url).then(
      (blob) => {
        if (!live) return;
        objectUrl = URL.createObjectURL(new Blob([blob], { type: "application/pdf" }));
        setPdf({ url, objectUrl });
      },
      () => live && setFailed(true),
    );
    return () => {
      live = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [kind, url, pdfTooLarge]);

  useEffect(() => {
    const read = readTextRef.current;
    if (kind !== "text" || !url || !read) return;
    let live = true;
    read(url, TEXT_PREVIEW_BYTES).then(
      (body) => live && setText({ url, body }),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [kind, url]);

  if (!kind) return <div className="preview muted">No preview for this type of file.</div>;
  if (failed) return <div className="preview muted">The preview could not be loaded.</div>;
  if (!url) return <div className="preview muted">Loading preview…</div>;
  switch (kind) {
    case "image":
      return (
        <div className="preview">
          {/* A signed, short-lived URL: next/image has nothing to optimise here. */}
          {/* eslint-disable-next-line @next/next/no-img-element */}
          <img src={url} alt={`Preview of ${name}`} onError={() => setFailed(true)} />
        </div>
      );
    case "pdf":
      if (pdfTooLarge) {
        return (
          <div className="preview muted">
            This PDF is too large to preview. Download it to read it.
          </div>
        );
      }
      return (
        <div className="preview">
          {pdf && pdf.url === url ? (
            <iframe src={pdf.objectUrl} title={`Preview of ${name}`} />
          ) : (
            <span className="muted">Loading preview…</span>
          )}
        </div>
      );
    case "video":
      return (
        <div className="preview">
          <video src={url} controls preload="metadata" aria-label={`Preview of ${name}`} />
        </div>
      );
    case "audio":
      return (
        <div className="preview">
          <audio src={url} controls preload="metadata" aria-label={`Preview of ${name}`} />
        </div>
      );
    case "text":
      return (
        <div className="preview">
          {text && text.url === url ? (
            <pre tabIndex={0} aria-label={`Start of ${name}`}>
              {text.body}
            </pre>
          ) : (
            <span className="muted">Loading preview…</span>
          )}
        </div>
      );
  }
}
