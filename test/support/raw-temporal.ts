import { Client, Connection } from '@temporalio/client';

/**
 * A Temporal client without Trellis's data converter, on the test servers: what anyone who reaches
 * Temporal directly has (its gRPC or Web UI HTTP API) without `TRELLIS_SECRET_KEY`. It writes
 * plaintext payloads and reads history as stored.
 */
export async function rawTemporalClient(): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  return { client, close: () => connection.close() };
}
