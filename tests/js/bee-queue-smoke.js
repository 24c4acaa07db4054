// Drives bee-queue (a real job library whose queue operations are Lua scripts) against the
// server on 127.0.0.1:<port>: 20 jobs with retries (every fifth fails once and is retried),
// one delayed job, 4 concurrent workers. Prints one JSON line; exits non-zero on failure.
const Queue = require('bee-queue');
const port = Number(process.argv[2]);
const opts = { redis: { host: '127.0.0.1', port }, activateDelayedJobs: true, removeOnSuccess: false, stallInterval: 1000 };
const q = new Queue('vole-test', opts);
const timer = setTimeout(() => { console.error('TIMEOUT'); process.exit(2); }, 20000);
(async () => {
  await q.ready();
  await q.destroy();
  const attempts = {};
  const done = new Set();
  q.process(4, async (job) => {
    attempts[job.id] = (attempts[job.id] || 0) + 1;
    if (job.data.failOnce && attempts[job.id] === 1) throw new Error('first try fails');
    return job.data.n * 2;
  });
  const results = {};
  q.on('succeeded', (job, result) => { results[job.id] = result; done.add(job.id); });
  const jobs = [];
  for (let i = 0; i < 20; i++) {
    const j = q.createJob({ n: i, failOnce: i % 5 === 0 }).retries(2).backoff('fixed', 50);
    jobs.push(await j.save());
  }
  const delayed = await q.createJob({ n: 100 }).delayUntil(Date.now() + 500).save();
  jobs.push(delayed);
  while (done.size < jobs.length) await new Promise(r => setTimeout(r, 50));
  for (const j of jobs) {
    if (results[j.id] !== j.data.n * 2) throw new Error(`job ${j.id}: ${results[j.id]}`);
  }
  const health = await q.checkHealth();
  const retried = Object.values(attempts).filter(a => a === 2).length;
  console.log(JSON.stringify({ completed: done.size, retried, health }));
  await q.close();
  clearTimeout(timer);
  process.exit(0);
})().catch(e => { console.error('FAIL', e); process.exit(1); });
