// Drives BullMQ (a job library built on Lua scripts and streams) against the server on
// 127.0.0.1:<port>: a Worker with concurrency 4 runs 50 plain jobs (every tenth fails once and
// is retried after a fixed backoff), a delayed job, three prioritized jobs and a job scheduler
// limited to three runs, while a QueueEvents reader follows the events stream (XREAD BLOCK).
// Prints one JSON line that does not depend on timing; exits non-zero on failure or timeout.
const { Queue, Worker, QueueEvents } = require('bullmq');
const port = Number(process.argv[2]);
const connection = { host: '127.0.0.1', port };
const name = 'vole-bullmq';
const PLAIN = 50, PRIORITIZED = [3, 1, 2], REPEATS = 3;
const expected = PLAIN + 1 + PRIORITIZED.length + REPEATS;
let progress = () => '';
const timer = setTimeout(() => {
  console.error(`TIMEOUT after 30 s: ${progress()}`);
  process.exit(2);
}, 30000);
const sleep = ms => new Promise(r => setTimeout(r, ms));
(async () => {
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  await queue.obliterate({ force: true }); // a clean queue (and events stream) on reruns

  // Read the events stream from its start so that no event is missed whatever the timing.
  const events = new QueueEvents(name, { connection, lastEventId: '0-0', blockingTimeout: 5000 });
  // Events of the scheduler's jobs are left out of these counts: whether such a job is first
  // 'delayed' or straight 'waiting' depends on how late its predecessor started.
  const seen = {};
  const eventNames = ['added', 'waiting', 'delayed', 'active', 'completed', 'failed', 'retries-exhausted', 'stalled'];
  const fromScheduler = jobId => String(jobId).startsWith('repeat:');
  for (const e of eventNames) {
    seen[e] = 0;
    events.on(e, ({ jobId }) => { if (!fromScheduler(jobId)) seen[e]++; });
  }
  const completedEventIds = new Set();
  const eventResults = [];
  events.on('completed', ({ jobId, returnvalue }) => { completedEventIds.add(jobId); eventResults.push(returnvalue); });
  events.on('error', e => console.error('queue events error', e));
  await events.waitUntilReady();

  const attempts = {};
  let failedAttempts = 0;
  const done = new Set();
  const worker = new Worker(name, async job => {
    attempts[job.id] = (attempts[job.id] || 0) + 1;
    if (job.data.failOnce && attempts[job.id] === 1) throw new Error('first try fails');
    return job.data.n * 2;
  }, { connection, concurrency: 4 });
  worker.on('completed', job => done.add(job.id));
  worker.on('failed', () => { failedAttempts++; });
  worker.on('error', e => console.error('worker error', e));
  await worker.waitUntilReady();

  progress = () => JSON.stringify({ done: done.size, completedEvents: completedEventIds.size, expected, events: seen });

  const retry = { attempts: 2, backoff: { type: 'fixed', delay: 50 } };
  await queue.addBulk(Array.from({ length: PLAIN / 2 }, (_, i) =>
    ({ name: 'plain', data: { n: i, failOnce: i % 10 === 0 }, opts: retry })));
  for (let i = PLAIN / 2; i < PLAIN; i++) {
    await queue.add('plain', { n: i, failOnce: i % 10 === 0 }, retry);
  }
  await queue.add('delayed', { n: 100 }, { delay: 300 });
  for (const [k, p] of PRIORITIZED.entries()) {
    await queue.add('prioritized', { n: 200 + k }, { priority: p });
  }
  await queue.upsertJobScheduler('tick', { every: 100, limit: REPEATS }, { name: 'tick', data: { n: 300 } });

  while (done.size < expected || completedEventIds.size < expected) await sleep(20);
  await sleep(200); // let a run past the scheduler's limit show up, should there be one

  const completed = await queue.getCompleted(0, -1);
  const results = completed.map(j => j.returnvalue).sort((a, b) => a - b);
  const attemptsMade = completed.map(j => j.attemptsMade).sort((a, b) => a - b);
  const sortedEventResults = eventResults.slice().sort((a, b) => a - b);
  const summary = {
    completed: done.size,
    failedAttempts,
    retried: Object.values(attempts).filter(a => a === 2).length,
    results,
    attemptsMade,
    events: seen,
    completedEvents: eventResults.length,
    completedEventJobs: completedEventIds.size,
    eventResultsMatch: JSON.stringify(sortedEventResults) === JSON.stringify(results),
    counts: await queue.getJobCounts(),
    schedulers: (await queue.getJobSchedulers()).length,
  };
  const want = [...Array.from({ length: PLAIN }, (_, i) => i * 2), 200,
    ...PRIORITIZED.map((_, k) => (200 + k) * 2), ...Array(REPEATS).fill(600)].sort((a, b) => a - b);
  if (JSON.stringify(results) !== JSON.stringify(want) || !summary.eventResultsMatch ||
      summary.completedEvents !== expected) {
    throw new Error(`unexpected outcome: ${JSON.stringify(summary)}`);
  }
  await worker.close();
  await events.close();
  await queue.close();
  console.log(JSON.stringify(summary));
  clearTimeout(timer);
  process.exit(0);
})().catch(e => { console.error('FAIL', e); process.exit(1); });
