import { DefaultFailureConverter } from '@temporalio/common';

/**
 * The failure converter of Trellis's clients and workers (loaded by path: the workflow bundle
 * includes it). It moves each failure's message and stack trace into its encoded attributes, a
 * payload, so the payload codec encrypts them with the rest: failure messages can quote inputs,
 * outputs and response bodies. Failures written in plaintext before still convert back.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
