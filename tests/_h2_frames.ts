/**
 * Raw HTTP/2 for tests that play a peer by hand (floods, fuzzing, hostile
 * fixtures): a gRPC request's HEADERS frame, built with the transport's own
 * frame writer and HPACK encoder.
 *
 * @module
 */
import { Flag, FrameType, type OutputBuffer } from "../src/transport/h2/frame.ts";
import type { HpackEncoder } from "../src/transport/h2/hpack_encoder.ts";
import type { HeaderList } from "../src/transport/h2/hpack.ts";

/** The fixture's echo method, the path most hand-made requests call. */
export const ECHO_PATH = "/bulkhead.testing.v1.FixtureService/Echo";

/** What {@linkcode writeRequest} may vary. */
export interface RequestFrame {
  /** `:path`. @default {ECHO_PATH} */
  path?: string;
  /** `:authority`. @default {"x"} */
  authority?: string;
  /** Headers after the standard ones, as name, value, name, value… */
  extra?: string[];
  /** Set END_STREAM (a request without a body). @default {false} */
  endStream?: boolean;
}

/** Appends one HEADERS frame (END_HEADERS, and END_STREAM if `end`) carrying `fields`. */
export function writeHeaders(
  out: OutputBuffer,
  encoder: HpackEncoder,
  id: number,
  fields: HeaderList,
  end = false,
): void {
  const start = out.length;
  out.ensure(9);
  out.length += 9;
  encoder.encode(fields, out);
  const flags = Flag.END_HEADERS | (end ? Flag.END_STREAM : 0);
  out.patchFrameHeader(start, out.length - start - 9, FrameType.HEADERS, flags, id);
}

/** Appends a gRPC request's HEADERS frame on stream `id` to `out`. */
export function writeRequest(
  out: OutputBuffer,
  encoder: HpackEncoder,
  id: number,
  request: RequestFrame = {},
): void {
  writeHeaders(out, encoder, id, [
    ":method",
    "POST",
    ":scheme",
    "http",
    ":path",
    request.path ?? ECHO_PATH,
    ":authority",
    request.authority ?? "x",
    "content-type",
    "application/grpc",
    "te",
    "trailers",
    ...(request.extra ?? []),
  ], request.endStream); // deno-fmt-ignore
}
