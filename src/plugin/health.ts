/**
 * `grpc.health.v1.Health` for a plugin: service `plugin` (go-plugin's name
 * for "the plugin as a whole") and `""` are SERVING while the plugin serves;
 * each registered service is known by its full name.
 *
 * @module
 */
import { Code, ConnectError, type ServiceImpl } from "../npm/connect.ts";
import { type Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.ts";

const { SERVING, NOT_SERVING } = HealthCheckResponse_ServingStatus;

/**
 * Implements the health service.
 *
 * @param serviceNames Full names of the plugin's services.
 * @param serving Whether the plugin is serving right now.
 * @returns The implementation.
 * @example
 * ```ts ignore
 * const impl = healthService(["acme.v1.Kv"], () => true);
 * ```
 */
export function healthService(
  serviceNames: readonly string[],
  serving: () => boolean,
): ServiceImpl<typeof Health> {
  const known = new Set(["", "plugin", ...serviceNames]);
  const status = (service: string) => {
    if (!known.has(service)) throw new ConnectError(`unknown service ${service}`, Code.NotFound);
    return serving() ? SERVING : NOT_SERVING;
  };
  return {
    check(request) {
      return { status: status(request.service) };
    },
    async *watch(request, context) {
      yield { status: status(request.service) };
      await new Promise<void>((resolve) => {
        if (context.signal.aborted) resolve();
        context.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    },
  };
}
