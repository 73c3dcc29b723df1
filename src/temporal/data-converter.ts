import type { DataConverter, PayloadCodec } from '@temporalio/common';

/** Module with Trellis's `failureConverter` export, for clients, workers and the workflow bundle. */
export const FAILURE_CONVERTER_PATH = require.resolve('../../interpreter/failure-converter');

/**
 * The data converter every Trellis client and worker uses: the payload codec (encryption, see
 * `PayloadEncryptionCodec`) and the failure converter that puts failure messages into encrypted
 * payloads. A client or worker without it would write plaintext to history and could not read
 * what the others wrote.
 */
export function trellisDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}
