import { WorkflowNotFoundError } from '@temporalio/common';
import { GraphQLError } from 'graphql';
import { formatError, toSocketError } from '../../graphql/errors';

/** What Apollo hands formatError for an error a resolver threw. */
function fromResolver(original: Error) {
  const wrapped = new GraphQLError(original.message, { originalError: original, path: ['cancelRun'] });
  return formatError({ message: original.message, path: ['cancelRun'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, wrapped);
}

describe('Temporal client errors reaching the API', () => {
  const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  afterAll(() => quiet.mockRestore());

  it('answer a workflow Temporal no longer has as CONFLICT, saying so, over HTTP and over a socket', () => {
    const gone = new WorkflowNotFoundError('workflow not found', 'default/pay/1', undefined);
    const expected = { code: 'CONFLICT', message: expect.stringMatching(/^the run's workflow is no longer running in Temporal/) };
    const formatted = fromResolver(gone);
    expect({ code: formatted.extensions?.code, message: formatted.message }).toEqual(expected);
    const socket = toSocketError(gone);
    expect({ code: socket.extensions.code, message: socket.message }).toEqual(expected);
  });

  it('answer a raw gRPC NOT_FOUND from the workflow service the same way', () => {
    const grpc = Object.assign(new Error('5 NOT_FOUND: workflow execution not found'), { code: 5, details: 'workflow execution not found', metadata: {} });
    expect(fromResolver(grpc).extensions?.code).toBe('CONFLICT');
  });

  it('leave every other error an internal server error, without its message', () => {
    const formatted = fromResolver(new Error('connection refused to 10.0.0.7:7233'));
    expect(formatted).toMatchObject({ message: 'internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});
