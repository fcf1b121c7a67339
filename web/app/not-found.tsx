import Link from "next/link";

export default function NotFound() {
  return (
    <div className="center-page">
      <div className="card narrow">
        <h1>Page not found</h1>
        <p>There is nothing at this address.</p>
        <Link href="/">Go to livedrop</Link>
      </div>
    </div>
  );
}
