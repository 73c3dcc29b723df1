import Fastify, { type FastifyInstance } from 'fastify';
import { apiErrorHandler } from '../../src/api/api-error-handler';
import { logger } from '../../src/observability/logger';

/** Listens on a free loopback port; returns the base URL. */
async function serve(app: FastifyInstance): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' });
}

describe('apiErrorHandler', () => {
  it('answers an unexpected error with a bare 500: no message, no stack', async () => {
    const app = Fastify({ logger: false });
    app.setErrorHandler(apiErrorHandler);
    app.get('/boom', async () => {
      throw new Error('connection to db.internal:5432 refused (password authentication failed for "owner")');
    });
    const logged = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      const response = await fetch(`${await serve(app)}/boom`);
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal server error' });
      expect(logged).toHaveBeenCalled();
    } finally {
      logged.mockRestore();
      await app.close();
    }
  });

  it('leaves client errors to Fastify, whose messages say what is wrong with the request', async () => {
    const app = Fastify({ logger: false });
    app.setErrorHandler(apiErrorHandler);
    app.post('/echo', async (request) => request.body);
    try {
      const response = await fetch(`${await serve(app)}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    } finally {
      await app.close();
    }
  });
});
