/**
 * The Prometheus registry renders exposition format 0.0.4 exactly: HELP and TYPE lines,
 * escaped label values, cumulative histogram buckets with +Inf, _sum and _count; gauges
 * read at scrape time through `collect`; invalid names and labels are refused at once.
 * Every rendered text also goes through a small line-format checker.
 */
import { describe, expect, it } from 'vitest';
import { PROMETHEUS_CONTENT_TYPE, Registry } from '../../controller/observability/metrics.ts';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_PAIR = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL_PAIR}(?:,${LABEL_PAIR})*)?\\})? ([+-]Inf|NaN|-?\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?)$`);
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram)$`);

/**
 * Checks the text line by line: HELP then TYPE per family, each family once, every sample
 * named after the family it follows (`_bucket`, `_sum`, `_count` for a histogram), and a
 * final newline. Returns the text so a test can compare it too.
 */
function checkedExposition(text: string): string {
  if (text === '') return text;
  expect(text.endsWith('\n'), 'ends with a newline').toBe(true);
  const families = new Set<string>();
  let family: { name: string; type: string } | undefined;
  let helpFor: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = HELP.exec(line);
    const type = TYPE.exec(line);
    const sample = SAMPLE.exec(line);
    if (help) {
      helpFor = help[1];
    } else if (type) {
      expect(type[1], `TYPE follows its HELP: ${line}`).toBe(helpFor);
      expect(families.has(type[1]!), `family ${type[1]} appears once`).toBe(false);
      families.add(type[1]!);
      family = { name: type[1]!, type: type[2]! };
    } else if (sample) {
      expect(family, `sample after a TYPE: ${line}`).toBeDefined();
      const allowed = family!.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((suffix) => family!.name + suffix) : [family!.name];
      expect(allowed, `sample name in its family: ${line}`).toContain(sample[1]);
    } else {
      expect.fail(`not a valid exposition line: ${JSON.stringify(line)}`);
    }
  }
  return text;
}

describe('rendering', () => {
  it.each([
    { text: '# HELP a x\n# TYPE a counter\na{k="un"escaped"} 1\n', why: 'an unescaped quote' },
    { text: '# HELP a x\n# TYPE a counter\na 1', why: 'no final newline' },
    { text: '# HELP a x\n# TYPE a gauge\nb 1\n', why: 'a sample outside its family' },
    { text: '# HELP a x\n# TYPE a counter\na one\n', why: 'a value that is not a number' },
  ])('the line-format checker itself rejects $why', ({ text }) => {
    expect(() => checkedExposition(text)).toThrow();
  });

  it('renders a counter, gauges and a histogram exactly', () => {
    const registry = new Registry();
    const reports = registry.counter({ name: 'versiond_reports_total', help: 'Agent reports received.', labelNames: ['kind', 'outcome'] });
    registry.counter({ name: 'versiond_restarts_total', help: 'Never incremented: shows as 0.' });
    let waiting = 7;
    registry.gauge({ name: 'versiond_queue_depth', help: 'Targets waiting for a worker.', collect: (gauge) => gauge.set(waiting) });
    const agents = registry.gauge({ name: 'versiond_agents', help: 'Agents by sync mode.', labelNames: ['mode'] });
    const reconcile = registry.histogram({
      name: 'versiond_reconcile_duration_seconds',
      help: 'Time to reconcile one target.',
      labelNames: ['kind'],
      buckets: [0.1, 0.5, 1],
    });

    reports.inc({ kind: 'account', outcome: 'ok' });
    reports.inc({ outcome: 'ok', kind: 'account' }, 2); // label order in the object does not matter
    reports.inc({ kind: 'domain', outcome: 'rejected' });
    agents.set(3, { mode: 'mailbox' });
    agents.inc({ mode: 'bidirectional' });
    agents.dec({ mode: 'mailbox' }, 0.5);
    reconcile.observe(0.05, { kind: 'account' });
    reconcile.observe(0.1, { kind: 'account' }); // a bound is inclusive (le)
    reconcile.observe(0.75, { kind: 'account' });
    reconcile.observe(3, { kind: 'account' });
    reconcile.observe(0.5, { kind: 'domain' });
    waiting = 2; // collect reads it at scrape time

    expect(checkedExposition(registry.render())).toBe(
      [
        '# HELP versiond_reports_total Agent reports received.',
        '# TYPE versiond_reports_total counter',
        'versiond_reports_total{kind="account",outcome="ok"} 3',
        'versiond_reports_total{kind="domain",outcome="rejected"} 1',
        '# HELP versiond_restarts_total Never incremented: shows as 0.',
        '# TYPE versiond_restarts_total counter',
        'versiond_restarts_total 0',
        '# HELP versiond_queue_depth Targets waiting for a worker.',
        '# TYPE versiond_queue_depth gauge',
        'versiond_queue_depth 2',
        '# HELP versiond_agents Agents by sync mode.',
        '# TYPE versiond_agents gauge',
        'versiond_agents{mode="mailbox"} 2.5',
        'versiond_agents{mode="bidirectional"} 1',
        '# HELP versiond_reconcile_duration_seconds Time to reconcile one target.',
        '# TYPE versiond_reconcile_duration_seconds histogram',
        'versiond_reconcile_duration_seconds_bucket{kind="account",le="0.1"} 2',
        'versiond_reconcile_duration_seconds_bucket{kind="account",le="0.5"} 2',
        'versiond_reconcile_duration_seconds_bucket{kind="account",le="1"} 3',
        'versiond_reconcile_duration_seconds_bucket{kind="account",le="+Inf"} 4',
        'versiond_reconcile_duration_seconds_sum{kind="account"} 3.9',
        'versiond_reconcile_duration_seconds_count{kind="account"} 4',
        'versiond_reconcile_duration_seconds_bucket{kind="domain",le="0.1"} 0',
        'versiond_reconcile_duration_seconds_bucket{kind="domain",le="0.5"} 1',
        'versiond_reconcile_duration_seconds_bucket{kind="domain",le="1"} 1',
        'versiond_reconcile_duration_seconds_bucket{kind="domain",le="+Inf"} 1',
        'versiond_reconcile_duration_seconds_sum{kind="domain"} 0.5',
        'versiond_reconcile_duration_seconds_count{kind="domain"} 1',
        '',
      ].join('\n'),
    );
  });

  it('renders an unlabelled histogram with no observations as zeros, with the default buckets', () => {
    const registry = new Registry();
    registry.histogram({ name: 'report_seconds', help: 'Report handling time.' });
    const bounds = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
    expect(checkedExposition(registry.render())).toBe(
      [
        '# HELP report_seconds Report handling time.',
        '# TYPE report_seconds histogram',
        ...bounds.map((le) => `report_seconds_bucket{le="${le}"} 0`),
        'report_seconds_sum 0',
        'report_seconds_count 0',
        '',
      ].join('\n'),
    );
  });

  it('renders a labelled metric that was never used as HELP and TYPE only, and an empty registry as nothing', () => {
    expect(new Registry().render()).toBe('');
    const registry = new Registry();
    registry.counter({ name: 'commands_total', help: 'Commands sent.', labelNames: ['action'] });
    expect(checkedExposition(registry.render())).toBe('# HELP commands_total Commands sent.\n# TYPE commands_total counter\n');
  });

  it.each([
    { value: Number.POSITIVE_INFINITY, text: '+Inf' },
    { value: Number.NEGATIVE_INFINITY, text: '-Inf' },
    { value: Number.NaN, text: 'NaN' },
    { value: 1e-7, text: '1e-7' },
    { value: -0.25, text: '-0.25' },
    { value: 2 ** 53, text: '9007199254740992' },
  ])('writes the value $value as $text', ({ value, text }) => {
    const registry = new Registry();
    registry.gauge({ name: 'g', help: 'h.' }).set(value);
    expect(checkedExposition(registry.render()).split('\n')[2]).toBe(`g ${text}`);
  });

  it('serves the 0.0.4 content type', () => {
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

describe('escaping', () => {
  it.each([
    { value: 'plain', text: 'plain' },
    { value: 'C:\\ProgramData\\Watchdoc', text: 'C:\\\\ProgramData\\\\Watchdoc' },
    { value: 'say "hi"', text: 'say \\"hi\\"' },
    { value: 'two\nlines', text: 'two\\nlines' },
    { value: '\\"\n', text: '\\\\\\"\\n' },
    { value: 'tab\tand é', text: 'tab\tand é' },
  ])('writes the label value $value as $text', ({ value, text }) => {
    const registry = new Registry();
    registry.counter({ name: 'errors_total', help: 'Errors.', labelNames: ['reason'] }).inc({ reason: value });
    expect(checkedExposition(registry.render()).split('\n')[2]).toBe(`errors_total{reason="${text}"} 1`);
  });

  it('escapes backslash and newline in HELP, and leaves quotes alone', () => {
    const registry = new Registry();
    registry.counter({ name: 'x_total', help: 'Path C:\\temp, "quoted",\nsecond line.' });
    expect(checkedExposition(registry.render()).split('\n')[0]).toBe('# HELP x_total Path C:\\\\temp, "quoted",\\nsecond line.');
  });

  it('keeps label values apart that a naive separator would merge', () => {
    const registry = new Registry();
    const counter = registry.counter({ name: 'pairs_total', help: 'Pairs.', labelNames: ['a', 'b'] });
    counter.inc({ a: 'x,y', b: 'z' });
    counter.inc({ a: 'x', b: 'y,z' });
    counter.inc({ a: '1:b', b: '' });
    counter.inc({ a: '', b: '1:b' });
    expect(checkedExposition(registry.render()).split('\n').slice(2, -1)).toEqual([
      'pairs_total{a="x,y",b="z"} 1',
      'pairs_total{a="x",b="y,z"} 1',
      'pairs_total{a="1:b",b=""} 1',
      'pairs_total{a="",b="1:b"} 1',
    ]);
  });
});

describe('histogram buckets', () => {
  it.each([
    { observed: [0.5, 1, 1.5, 2, 4, 6], buckets: ['2', '4', '5', '6'], sum: '15' },
    { observed: [-3, 0], buckets: ['2', '2', '2', '2'], sum: '-3' },
    { observed: [10, 100, Number.POSITIVE_INFINITY], buckets: ['0', '0', '0', '3'], sum: '+Inf' },
    { observed: [], buckets: ['0', '0', '0', '0'], sum: '0' },
  ])('observing $observed counts le="1","2","5","+Inf" as $buckets', ({ observed, buckets, sum }) => {
    const registry = new Registry();
    const histogram = registry.histogram({ name: 'size', help: 'Sizes.', buckets: [1, 2, 5] });
    for (const value of observed) histogram.observe(value);
    const lines = checkedExposition(registry.render()).split('\n');
    expect(lines.slice(2, -1)).toEqual([
      `size_bucket{le="1"} ${buckets[0]}`,
      `size_bucket{le="2"} ${buckets[1]}`,
      `size_bucket{le="5"} ${buckets[2]}`,
      `size_bucket{le="+Inf"} ${buckets[3]}`,
      `size_sum ${sum}`,
      `size_count ${observed.length}`,
    ]);
  });

  it('accepts a trailing +Inf bucket as the implicit one', () => {
    const registry = new Registry();
    registry.histogram({ name: 'h', help: 'h.', buckets: [1, Number.POSITIVE_INFINITY] }).observe(3);
    expect(checkedExposition(registry.render())).toContain('h_bucket{le="1"} 0\nh_bucket{le="+Inf"} 1\n');
  });

  it('startTimer observes the elapsed seconds, with labels from the start and the end', async () => {
    const registry = new Registry();
    const histogram = registry.histogram({ name: 'reconcile_seconds', help: 'Reconcile.', labelNames: ['kind', 'outcome'], buckets: [0.001, 10] });
    const end = histogram.startTimer({ kind: 'domain' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = end({ outcome: 'ok' });
    expect(seconds).toBeGreaterThanOrEqual(0.015);
    expect(seconds).toBeLessThan(5);
    const text = checkedExposition(registry.render());
    expect(text).toContain('reconcile_seconds_bucket{kind="domain",outcome="ok",le="0.001"} 0\n');
    expect(text).toContain('reconcile_seconds_bucket{kind="domain",outcome="ok",le="10"} 1\n');
    expect(text).toContain(`reconcile_seconds_sum{kind="domain",outcome="ok"} ${seconds}\n`);
  });

  it('rejects NaN observations and buckets that are not strictly increasing and finite', () => {
    const registry = new Registry();
    expect(() => registry.histogram({ name: 'h', help: 'h.' }).observe(Number.NaN)).toThrow('metric h: cannot observe NaN');
    expect(() => registry.histogram({ name: 'a', help: 'a.', buckets: [1, 1] })).toThrow('metric a: buckets must be strictly increasing, got 1 then 1');
    expect(() => registry.histogram({ name: 'b', help: 'b.', buckets: [2, 1] })).toThrow(/strictly increasing/);
    expect(() => registry.histogram({ name: 'c', help: 'c.', buckets: [Number.NaN] })).toThrow(/not a finite number/);
  });
});

describe('label handles for hot paths', () => {
  it('labels() returns one handle per series, and it updates what the registry renders', () => {
    const registry = new Registry();
    const counter = registry.counter({ name: 'reports_total', help: 'Reports.', labelNames: ['kind'] });
    const gauge = registry.gauge({ name: 'inflight', help: 'In flight.', labelNames: ['kind'] });
    const histogram = registry.histogram({ name: 'bytes', help: 'Bytes.', labelNames: ['kind'], buckets: [100] });
    const accounts = counter.labels({ kind: 'account' });
    expect(counter.labels({ kind: 'account' })).toBe(accounts);
    for (let i = 0; i < 5; i++) accounts.inc();
    accounts.inc(10);
    counter.inc({ kind: 'account' });
    const inflight = gauge.labels({ kind: 'account' });
    inflight.set(4);
    inflight.inc();
    inflight.dec(2);
    const sizes = histogram.labels({ kind: 'account' });
    sizes.observe(50);
    sizes.observe(150);
    expect(sizes.startTimer()()).toBeGreaterThanOrEqual(0);
    expect(checkedExposition(registry.render()).split('\n').filter((line) => !line.startsWith('#'))).toEqual([
      'reports_total{kind="account"} 16',
      'inflight{kind="account"} 3',
      'bytes_bucket{kind="account",le="100"} 2',
      'bytes_bucket{kind="account",le="+Inf"} 3',
      expect.stringMatching(/^bytes_sum\{kind="account"\} 200(\.\d+)?(e-\d+)?$/),
      'bytes_count{kind="account"} 3',
      '',
    ]);
  });

  it('counts 100,000 labelled increments well within the report path’s budget', () => {
    const registry = new Registry();
    const counter = registry.counter({ name: 'reports_total', help: 'Reports.', labelNames: ['kind', 'outcome'] });
    const kinds = ['account', 'domain', 'distribution-server', 'ha-cluster'];
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) counter.inc({ kind: kinds[i & 3]!, outcome: 'ok' });
    const handle = counter.labels({ kind: 'account', outcome: 'ok' });
    for (let i = 0; i < 100_000; i++) handle.inc();
    const elapsed = performance.now() - started;
    expect(registry.render()).toContain('reports_total{kind="account",outcome="ok"} 125000\n');
    expect(elapsed).toBeLessThan(500); // ≥ 400,000 increments/s; the report path needs 10,000
  });
});

describe('collect callbacks', () => {
  it('runs collect at every scrape, and reset() drops series that no longer exist', () => {
    const phases = new Map<string, number>([
      ['Progressing', 2],
      ['Ready', 5],
    ]);
    let scrapes = 0;
    const registry = new Registry();
    registry.gauge({
      name: 'targets',
      help: 'Targets by phase.',
      labelNames: ['phase'],
      collect: (gauge) => {
        scrapes++;
        gauge.reset();
        for (const [phase, count] of phases) gauge.set(count, { phase });
      },
    });
    const samples = () => checkedExposition(registry.render()).split('\n').slice(2, -1);
    expect(samples()).toEqual(['targets{phase="Progressing"} 2', 'targets{phase="Ready"} 5']);
    phases.delete('Progressing');
    phases.set('Ready', 7);
    expect(samples()).toEqual(['targets{phase="Ready"} 7']);
    expect(scrapes).toBe(2);
  });

  it('a failing collect fails the scrape with the metric’s name', () => {
    const registry = new Registry();
    registry.gauge({
      name: 'queue_depth',
      help: 'Depth.',
      collect: () => {
        throw new Error('queue gone');
      },
    });
    expect(() => registry.render()).toThrow('metric queue_depth: collect callback failed: queue gone');
  });
});

describe('validation', () => {
  it.each(['', '1st', 'a-b', 'a b', 'métrique', 'a.b', 'a{b}'])('refuses the metric name %j', (name) => {
    expect(() => new Registry().counter({ name, help: 'h.' })).toThrow(`metric name ${JSON.stringify(name)} is invalid`);
  });

  it.each(['a', '_a', ':a', 'a:b_c9', 'versiond_reports_total'])('accepts the metric name %j', (name) => {
    expect(new Registry().gauge({ name, help: 'h.' }).name).toBe(name);
  });

  it.each([
    { labelNames: ['1a'], error: 'metric m: label name "1a" is invalid: expected [a-zA-Z_][a-zA-Z0-9_]*' },
    { labelNames: ['a:b'], error: 'metric m: label name "a:b" is invalid' },
    { labelNames: ['a-b'], error: 'metric m: label name "a-b" is invalid' },
    { labelNames: [''], error: 'metric m: label name "" is invalid' },
    { labelNames: ['__name__'], error: 'metric m: label name __name__ is invalid: names starting with __ are reserved' },
    { labelNames: ['kind', 'kind'], error: 'metric m: label name kind is repeated' },
  ])('refuses the label names $labelNames', ({ labelNames, error }) => {
    expect(() => new Registry().counter({ name: 'm', help: 'h.', labelNames })).toThrow(error);
  });

  it('refuses le on a histogram but not on a counter', () => {
    expect(() => new Registry().histogram({ name: 'h', help: 'h.', labelNames: ['le'] })).toThrow('metric h: label name le is reserved for this metric type');
    expect(new Registry().counter({ name: 'c', help: 'h.', labelNames: ['le'] }).labelNames).toEqual(['le']);
  });

  it.each([
    { first: 'counter', firstName: 'x', second: 'gauge', secondName: 'x', clash: 'x' },
    { first: 'histogram', firstName: 'x', second: 'counter', secondName: 'x_count', clash: 'x_count' },
    { first: 'gauge', firstName: 'x_bucket', second: 'histogram', secondName: 'x', clash: 'x_bucket' },
  ] as const)('refuses a $second $secondName after a $first $firstName', ({ first, firstName, second, secondName, clash }) => {
    const registry = new Registry();
    registry[first]({ name: firstName, help: 'h.' });
    expect(() => registry[second]({ name: secondName, help: 'h.' })).toThrow(`metric ${secondName}: the sample name ${clash} is already registered`);
  });

  it.each<{ name: string; use: (registry: Registry) => void; error: string }>([
    {
      name: 'a missing label',
      use: (r) => r.counter({ name: 'c', help: 'h.', labelNames: ['kind', 'outcome'] }).inc({ kind: 'a' } as never),
      error: 'metric c: expected labels kind, outcome, got kind',
    },
    {
      name: 'a wrong label',
      use: (r) => r.counter({ name: 'c', help: 'h.', labelNames: ['kind'] }).inc({ knd: 'a' } as never),
      error: 'metric c: label kind must be a string or a number, got nothing',
    },
    {
      name: 'no labels on a labelled metric',
      use: (r) => r.gauge({ name: 'g', help: 'h.', labelNames: ['kind'] }).set(1),
      error: 'metric g: expected labels kind, got none',
    },
    {
      name: 'labels on an unlabelled metric',
      use: (r) => r.histogram({ name: 'h', help: 'h.' }).observe(1, { kind: 'a' } as never),
      error: 'metric h: expected no labels, got kind',
    },
    {
      name: 'a negative counter increment',
      use: (r) => r.counter({ name: 'c', help: 'h.' }).inc(-1),
      error: 'metric c: a counter only increases by a finite amount ≥ 0, got -1',
    },
    {
      name: 'a NaN counter increment through a handle',
      use: (r) => r.counter({ name: 'c', help: 'h.', labelNames: ['kind'] }).labels({ kind: 'a' }).inc(Number.NaN),
      error: 'metric c: a counter only increases by a finite amount ≥ 0, got NaN',
    },
  ])('refuses $name', ({ use, error }) => {
    expect(() => use(new Registry())).toThrow(error);
  });

  it('writes a numeric label value as its decimal text', () => {
    const registry = new Registry();
    registry.counter({ name: 'http_responses_total', help: 'Responses.', labelNames: ['code'] }).inc({ code: 200 });
    expect(checkedExposition(registry.render())).toContain('http_responses_total{code="200"} 1\n');
  });
});
