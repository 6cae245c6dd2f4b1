/**
 * Serves this repository read-only over HTTP on 127.0.0.1 (a random port),
 * `.ts` as TypeScript, as a user's project would import Bulkhead by URL;
 * remembers every path asked for, so a test can prove what was never fetched.
 *
 * @module
 */
import { extname, join, normalize } from "node:path";

const TYPES = new Map([
  [".ts", "application/typescript; charset=utf-8"],
  [".json", "application/json"],
  [".proto", "text/plain"],
  [".yaml", "text/yaml"],
]);

/** A running server; `await using` stops it. */
export interface RepoServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Every path requested, in order. */
  requests: string[];
}

/**
 * Starts serving `root` (default: this repository).
 *
 * @param root The directory to serve.
 * @returns The server.
 */
export function serveRepo(root = new URL("../..", import.meta.url).pathname): RepoServer {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const path = decodeURIComponent(new URL(request.url).pathname);
      requests.push(path);
      const file = normalize(join(root, path));
      if (!file.startsWith(root)) return new Response("outside", { status: 403 });
      try {
        const body = await Deno.readFile(file);
        const type = TYPES.get(extname(file)) ?? "application/octet-stream";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
