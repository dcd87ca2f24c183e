import Fastify from 'fastify';
import IORedis from 'ioredis';
import { Queue } from 'bullmq';

/**
 * Baseline (a): the simplest thing that accepts an event — a bare Fastify server that validates a
 * small JSON body (Fastify's compiled JSON schema) and does one BullMQ `add` per request.
 * Run by tools/bench/run.ts as a child process: `node baseline-intake.js <port> <redisUrl> <prefix>`.
 */
const [port, redisUrl, prefix] = process.argv.slice(2);
const connection = new IORedis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue('baseline', { connection, prefix });
const app = Fastify({ logger: false });

app.post(
  '/events',
  {
    schema: {
      body: {
        type: 'object',
        required: ['type'],
        additionalProperties: false,
        properties: { type: { type: 'string', maxLength: 100 }, title: { type: 'string', maxLength: 1000 }, issue: { type: 'object' } },
      },
    },
  },
  async (request, reply) => {
    const job = await queue.add('event', request.body, { removeOnComplete: true });
    return reply.code(202).send({ id: job.id });
  },
);

app.listen({ port: Number(port), host: '127.0.0.1' }).then(() => process.send?.('ready'));
