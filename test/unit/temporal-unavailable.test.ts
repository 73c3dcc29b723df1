import { isTemporalUnavailable } from '../../src/runs/run.service';

/** An error as the Temporal client throws it: a wrapper whose cause carries the gRPC status code. */
function failure(code: number, message: string): Error {
  return new Error('Failed to start Workflow', { cause: Object.assign(new Error(message), { code }) });
}

describe('isTemporalUnavailable', () => {
  it("counts grpc-js's unreachable and slow statuses, and the native connection's transport error", () => {
    expect(isTemporalUnavailable(failure(14, 'No connection established'))).toBe(true);
    expect(isTemporalUnavailable(failure(4, 'Deadline exceeded'))).toBe(true);
    expect(isTemporalUnavailable(failure(1, 'operation was canceled'))).toBe(true);
    expect(isTemporalUnavailable(failure(2, 'transport error'))).toBe(true);
  });

  it('does not count what Temporal answered', () => {
    expect(isTemporalUnavailable(failure(2, 'unexpected failure in the history service'))).toBe(false);
    expect(isTemporalUnavailable(failure(3, 'invalid argument'))).toBe(false);
    expect(isTemporalUnavailable(new Error('transport error'))).toBe(false);
  });
});
