// The one module that talks to the API and the live-data source. Components
// call `loadBackend()` (or the React hooks built on it) and never `fetch`,
// `WebSocket` or Firebase themselves.
//
// The page reads its mode from GET /api/config at start, so one build serves
// both deployments. The cloud implementation (Firebase Auth + Firestore
// listeners) is loaded with a dynamic import in cloud mode only, so a
// self-hosted page never downloads the Firebase SDK.

import { NetworkError } from "./errors";
import { SelfHostedBackend, fetchConfig } from "./selfhosted";
import type { Backend } from "./types";

export * from "./types";
export { ApiError, NetworkError, describeError, isAbort } from "./errors";

let backend: Promise<Backend> | null = null;

export function loadBackend(): Promise<Backend> {
  if (!backend) {
    backend = (async () => {
      const config = await fetchConfig();
      if (config.mode === "cloud") {
        // Its own chunk: the Firebase SDK is fetched in cloud mode only.
        let cloud: typeof import("./cloud");
        try {
          cloud = await import("./cloud");
        } catch {
          throw new NetworkError();
        }
        return new cloud.CloudBackend(config);
      }
      return new SelfHostedBackend(config);
    })();
    // A failed start (server down) may be retried.
    backend.catch(() => {
      backend = null;
    });
  }
  return backend;
}
