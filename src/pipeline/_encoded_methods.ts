/**
 * `ProcessBatch` and `ReadBatch` as the host calls them: the same paths and
 * requests as Redpanda Connect's services, with answers whose batches stay
 * encoded (proto/bulkhead/pipeline/v1/encoded.proto), so the host weighs a
 * batch against its response budget before it decodes it. Internal to
 * `src/pipeline/`.
 *
 * @module
 */
import type { DescMethodUnary } from "../npm/protobuf.ts";
import {
  EncodedProcessBatchResponseSchema,
  EncodedReadBatchResponseSchema,
} from "../gen/bulkhead/pipeline/v1/encoded_pb.ts";
import {
  type BatchProcessorProcessBatchRequestSchema,
  BatchProcessorService,
} from "../gen/redpanda/runtime/v1alpha1/processor_pb.ts";
import {
  type BatchInputReadRequestSchema,
  BatchInputService,
} from "../gen/redpanda/runtime/v1alpha1/input_pb.ts";

/** `BatchProcessorService/ProcessBatch`, its answer's batches left encoded. */
export const ENCODED_PROCESS_BATCH: DescMethodUnary<
  typeof BatchProcessorProcessBatchRequestSchema,
  typeof EncodedProcessBatchResponseSchema
> = Object.freeze({
  ...BatchProcessorService.method.processBatch,
  output: EncodedProcessBatchResponseSchema,
});

/** `BatchInputService/ReadBatch`, its answer's batch left encoded. */
export const ENCODED_READ_BATCH: DescMethodUnary<
  typeof BatchInputReadRequestSchema,
  typeof EncodedReadBatchResponseSchema
> = Object.freeze({
  ...BatchInputService.method.readBatch,
  output: EncodedReadBatchResponseSchema,
});
