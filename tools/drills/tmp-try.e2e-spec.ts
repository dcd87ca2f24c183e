import { sentinelFailoverDrill } from './redis-failover';
it('try', async () => {
  const r = await sentinelFailoverDrill({ events: Number(process.env.N ?? 500), lagMs: 1000, concurrency: 10 });
  console.log(r.facts.map(([k, v]) => `${k}: ${v}`).join('\n') + '\n' + r.failures.join('\n'));
}, 600000);
