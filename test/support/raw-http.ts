import http from 'node:http';

export type RawResponse = { status: number; headers: http.IncomingHttpHeaders; body: any };

/**
 * POSTs a GraphQL operation with exactly the headers given, `Host` included (fetch cannot set
 * `Host`), and parses the JSON answer.
 */
export function postGraphQL(url: string, query: string, headers: Record<string, string> = {}, variables: Record<string, unknown> = {}): Promise<RawResponse> {
  const body = JSON.stringify({ query, variables });
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: the test sees the text
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: parsed });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}
