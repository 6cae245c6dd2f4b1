/**
 * A Connect `HandlerContext` for one server call that builds what it holds
 * only when the handler asks for it: the `AbortSignal`, the request
 * `Headers` and the response header and trailer `Headers`. Most handlers
 * touch none of them, and creating them (plus Connect's linked controllers
 * and the `DOMException` of an abort without reason) was most of a small
 * call's cost on the server.
 *
 * `abort()` before anyone read `signal` is remembered: a later `signal` is
 * already aborted with that reason.
 *
 * @module
 */
import { type ContextValues, createContextValues, type HandlerContext } from "../../npm/connect.ts";
import type { DescMethod, DescService } from "../../npm/protobuf.ts";
import { headersFromList } from "./grpc_framing.ts";
import type { HeaderList } from "./hpack.ts";

const NOT_ABORTED = Symbol("not aborted");
const noTimeout = (): undefined => undefined;

/** The context of one incoming call. */
export class CallContext implements HandlerContext {
  /** The method called. */
  readonly method: DescMethod;
  /** The method's service. */
  readonly service: DescService;
  /** Always `POST`. */
  readonly requestMethod = "POST";
  /** Always `grpc`. */
  readonly protocolName = "grpc";
  /** Milliseconds left until the deadline, or `undefined` without one. */
  readonly timeoutMs: () => number | undefined;
  #fields: HeaderList;
  #controller: AbortController | undefined;
  #reason: unknown = NOT_ABORTED;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ContextValues | undefined;

  /**
   * @param method The method called.
   * @param fields The request's header list.
   * @param timeoutMs The deadline, from `grpc-timeout`.
   */
  constructor(method: DescMethod, fields: HeaderList, timeoutMs: number | undefined) {
    this.method = method;
    this.service = method.parent;
    this.#fields = fields;
    if (timeoutMs === undefined) this.timeoutMs = noTimeout;
    else {
      const deadline = Date.now() + timeoutMs;
      this.timeoutMs = () => deadline - Date.now();
    }
  }

  /** The request URL, as Connect's handlers report it. */
  get url(): string {
    return `http://localhost/${this.service.typeName}/${this.method.name}`;
  }

  /** Aborted when the call ends: finished, reset, deadline passed or connection lost. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== NOT_ABORTED) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** The request metadata. */
  get requestHeader(): Headers {
    return this.#requestHeader ??= headersFromList(this.#fields);
  }

  /** Response metadata the handler sets, sent with the response headers. */
  get responseHeader(): Headers {
    return this.#responseHeader ??= new Headers();
  }

  /** Trailing metadata the handler sets, sent with the status. */
  get responseTrailer(): Headers {
    return this.#responseTrailer ??= new Headers();
  }

  /** Context values (empty: no interceptors run on this side). */
  get values(): ContextValues {
    return this.#values ??= createContextValues();
  }

  /** The response headers set so far, if any were. */
  get responseHeaderIfSet(): Headers | undefined {
    return this.#responseHeader;
  }

  /** The response trailers set so far, if any were. */
  get responseTrailerIfSet(): Headers | undefined {
    return this.#responseTrailer;
  }

  /** True once `abort()` was called. */
  get aborted(): boolean {
    return this.#reason !== NOT_ABORTED;
  }

  /** Aborts the signal (now, or when first read). Idempotent. */
  abort(reason?: unknown): void {
    if (this.#reason !== NOT_ABORTED) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}
