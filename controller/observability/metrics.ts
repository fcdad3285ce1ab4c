/**
 * A minimal Prometheus registry for the controller's `/metrics` endpoint: counters, gauges
 * and histograms rendered in the text exposition format 0.0.4. It exists so the controller
 * serves metrics without a client-library dependency, and it is built for the report path,
 * which increments counters ~10,000 times a second:
 * - label names are fixed and validated once, at creation;
 * - a series is found by one Map lookup on a key built from the label values (no sorting,
 *   no JSON), and its label text is escaped once, when the series is first seen;
 * - `labels({...})` returns a handle bound to one series, so a hot path pays nothing but
 *   an addition per increment.
 *
 * Output order is registration order, then the order in which each series first appeared,
 * so a scrape is deterministic. A metric without labels always shows (as 0 until used), so
 * `rate()` and alerts see it from the start.
 */

/** The Content-Type a `/metrics` response must carry for this format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Prometheus' default buckets, in seconds: suited to request and reconcile latencies. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One value per label name; numbers are written as `String(n)`. */
export type LabelValues<L extends string> = { readonly [name in L]: string | number };

export interface MetricOptions<L extends string> {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*` */
  readonly name: string;
  readonly help: string;
  /** `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved by Prometheus). */
  readonly labelNames?: readonly L[];
}

export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /** Called at every scrape, before rendering, to set values read elsewhere (queue depth…). */
  readonly collect?: (gauge: Gauge<L>) => void;
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Finite upper bounds, strictly increasing; `+Inf` is always added. Default: DEFAULT_BUCKETS. */
  readonly buckets?: readonly number[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The part common to every metric: names, label handling, the series map. */
abstract class Metric<L extends string, S extends { readonly labelText: string }> {
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series = new Map<string, S>();

  constructor(options: MetricOptions<L>, reservedLabels: readonly string[] = []) {
    const { name, help } = options;
    if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
      throw new Error(`metric name ${JSON.stringify(name)} is invalid: expected [a-zA-Z_:][a-zA-Z0-9_:]*`);
    }
    if (typeof help !== 'string') throw new Error(`metric ${name}: help must be a string`);
    const labelNames = options.labelNames ?? [];
    const seen = new Set<string>();
    for (const label of labelNames) {
      if (typeof label !== 'string' || !LABEL_NAME.test(label)) {
        throw new Error(`metric ${name}: label name ${JSON.stringify(label)} is invalid: expected [a-zA-Z_][a-zA-Z0-9_]*`);
      }
      if (label.startsWith('__')) throw new Error(`metric ${name}: label name ${label} is invalid: names starting with __ are reserved`);
      if (reservedLabels.includes(label)) throw new Error(`metric ${name}: label name ${label} is reserved for this metric type`);
      if (seen.has(label)) throw new Error(`metric ${name}: label name ${label} is repeated`);
      seen.add(label);
    }
    this.name = name;
    this.help = help;
    this.labelNames = [...labelNames];
  }

  /** Names this metric writes samples under (a histogram writes three). */
  sampleNames(): readonly string[] {
    return [this.name];
  }

  /** The series for these label values, created on first use. */
  protected seriesFor(labels: LabelValues<L> | undefined): S {
    const key = this.keyOf(labels);
    let series = this.series.get(key);
    if (series === undefined) {
      series = this.createSeries(this.labelTextOf(labels));
      this.series.set(key, series);
    }
    return series;
  }

  protected abstract createSeries(labelText: string): S;

  abstract renderSamples(lines: string[]): void;

  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    this.renderSamples(lines);
  }

  /**
   * A collision-free key from the values in label-name order: one label is its own key,
   * several are length-prefixed (`3:abc5:hello`), so no value can fake a separator.
   */
  private keyOf(labels: LabelValues<L> | undefined): string {
    const names = this.labelNames;
    let given = 0;
    if (labels !== undefined) for (const _ in labels) given++;
    if (given !== names.length) {
      const expected = names.length === 0 ? 'no labels' : `labels ${names.join(', ')}`;
      const got = labels === undefined || given === 0 ? 'none' : Object.keys(labels).join(', ');
      throw new Error(`metric ${this.name}: expected ${expected}, got ${got}`);
    }
    if (names.length === 0) return '';
    if (names.length === 1) return this.valueOf(labels!, names[0]!);
    let key = '';
    for (const name of names) {
      const value = this.valueOf(labels!, name);
      key += `${value.length}:${value}`;
    }
    return key;
  }

  private valueOf(labels: LabelValues<L>, name: L): string {
    const value: unknown = labels[name];
    if (typeof value === 'string') return value;
    if (typeof value === 'number') return String(value);
    throw new Error(`metric ${this.name}: label ${name} must be a string or a number, got ${value === undefined ? 'nothing' : typeof value}`);
  }

  private labelTextOf(labels: LabelValues<L> | undefined): string {
    if (labels === undefined) return '';
    return this.labelNames.map((name) => `${name}="${escapeLabelValue(this.valueOf(labels, name))}"`).join(',');
  }
}

interface ValueSeries {
  readonly labelText: string;
  value: number;
}

/** Counts that only go up: reports received, commands sent, errors. */
export class Counter<L extends string = never> extends Metric<L, ValueSeries & { child?: CounterChild }> {
  readonly type = 'counter';

  constructor(options: MetricOptions<L>) {
    super(options);
    if (this.labelNames.length === 0) this.seriesFor(undefined);
  }

  inc(n?: number): void;
  inc(labels: LabelValues<L>, n?: number): void;
  inc(labelsOrN?: LabelValues<L> | number, n = 1): void {
    if (typeof labelsOrN === 'number') {
      n = labelsOrN;
      labelsOrN = undefined;
    }
    addToCounter(this.name, this.seriesFor(labelsOrN), n);
  }

  /** A handle bound to one series, for hot paths: no label lookup per increment. */
  labels(labels: LabelValues<L>): CounterChild {
    const series = this.seriesFor(labels);
    return (series.child ??= new CounterChild(this.name, series));
  }

  renderSamples(lines: string[]): void {
    for (const series of this.series.values()) lines.push(sample(this.name, series.labelText, series.value));
  }

  protected createSeries(labelText: string): ValueSeries {
    return { labelText, value: 0 };
  }
}

export class CounterChild {
  constructor(
    private readonly metricName: string,
    private readonly series: ValueSeries,
  ) {}

  inc(n = 1): void {
    addToCounter(this.metricName, this.series, n);
  }
}

function addToCounter(metricName: string, series: ValueSeries, n: number): void {
  // `!(n >= 0)` also rejects NaN; a counter that went down or became NaN would break rate().
  if (!(n >= 0) || n === Infinity) throw new Error(`metric ${metricName}: a counter only increases by a finite amount ≥ 0, got ${n}`);
  series.value += n;
}

/** Values that go up and down: queue depth, targets in a phase, connected agents. */
export class Gauge<L extends string = never> extends Metric<L, ValueSeries & { child?: GaugeChild }> {
  readonly type = 'gauge';
  private readonly collect: ((gauge: Gauge<L>) => void) | undefined;

  constructor(options: GaugeOptions<L>) {
    super(options);
    this.collect = options.collect;
    if (this.labelNames.length === 0) this.seriesFor(undefined);
  }

  set(value: number, labels?: LabelValues<L>): void {
    this.seriesFor(labels).value = value;
  }

  inc(n?: number): void;
  inc(labels: LabelValues<L>, n?: number): void;
  inc(labelsOrN?: LabelValues<L> | number, n = 1): void {
    if (typeof labelsOrN === 'number') this.seriesFor(undefined).value += labelsOrN;
    else this.seriesFor(labelsOrN).value += n;
  }

  dec(n?: number): void;
  dec(labels: LabelValues<L>, n?: number): void;
  dec(labelsOrN?: LabelValues<L> | number, n = 1): void {
    if (typeof labelsOrN === 'number') this.seriesFor(undefined).value -= labelsOrN;
    else this.seriesFor(labelsOrN).value -= n;
  }

  /**
   * Drop every labelled series, for a `collect` that rebuilds them at each scrape (a phase
   * with no target left must disappear). Handles from `labels()` taken earlier are detached.
   */
  reset(): void {
    this.series.clear();
    if (this.labelNames.length === 0) this.seriesFor(undefined);
  }

  labels(labels: LabelValues<L>): GaugeChild {
    const series = this.seriesFor(labels);
    return (series.child ??= new GaugeChild(series));
  }

  renderSamples(lines: string[]): void {
    if (this.collect) {
      try {
        this.collect(this);
      } catch (err) {
        throw new Error(`metric ${this.name}: collect callback failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    for (const series of this.series.values()) lines.push(sample(this.name, series.labelText, series.value));
  }

  protected createSeries(labelText: string): ValueSeries {
    return { labelText, value: 0 };
  }
}

export class GaugeChild {
  constructor(private readonly series: ValueSeries) {}

  set(value: number): void {
    this.series.value = value;
  }

  inc(n = 1): void {
    this.series.value += n;
  }

  dec(n = 1): void {
    this.series.value -= n;
  }
}

interface HistogramSeries {
  readonly labelText: string;
  /** Per-bucket (not cumulative) counts; the last slot counts values above every bound. */
  readonly counts: number[];
  sum: number;
  count: number;
  child?: HistogramChild;
}

/** Distributions: reconcile duration, report handling time, sizes. */
export class Histogram<L extends string = never> extends Metric<L, HistogramSeries> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  /** `le` label values, formatted once. */
  private readonly bounds: readonly string[];

  constructor(options: HistogramOptions<L>) {
    super(options, ['le']);
    this.buckets = validBuckets(this.name, options.buckets ?? DEFAULT_BUCKETS);
    this.bounds = [...this.buckets.map(formatNumber), '+Inf'];
    if (this.labelNames.length === 0) this.seriesFor(undefined);
  }

  override sampleNames(): readonly string[] {
    return [this.name, `${this.name}_bucket`, `${this.name}_sum`, `${this.name}_count`];
  }

  observe(value: number, labels?: LabelValues<L>): void {
    observeInto(this, this.seriesFor(labels), value);
  }

  /**
   * Start timing; the returned function observes the elapsed seconds and returns them.
   * Labels known only at the end (an outcome) may be given there, merged over the start's.
   */
  startTimer(labels?: Partial<LabelValues<L>>): (endLabels?: Partial<LabelValues<L>>) => number {
    const start = performance.now();
    return (endLabels) => {
      const seconds = (performance.now() - start) / 1000;
      const merged = labels === undefined && endLabels === undefined ? undefined : ({ ...labels, ...endLabels } as LabelValues<L>);
      this.observe(seconds, merged);
      return seconds;
    };
  }

  labels(labels: LabelValues<L>): HistogramChild {
    const series = this.seriesFor(labels);
    return (series.child ??= new HistogramChild(this, series));
  }

  renderSamples(lines: string[]): void {
    const { name, bounds } = this;
    for (const series of this.series.values()) {
      const prefix = series.labelText === '' ? '' : `${series.labelText},`;
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += series.counts[i]!;
        lines.push(`${name}_bucket{${prefix}le="${bounds[i]}"} ${formatNumber(cumulative)}`);
      }
      lines.push(sample(`${name}_sum`, series.labelText, series.sum), sample(`${name}_count`, series.labelText, series.count));
    }
  }

  protected createSeries(labelText: string): HistogramSeries {
    return { labelText, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }
}

export class HistogramChild {
  constructor(
    private readonly histogram: Histogram<string>,
    private readonly series: HistogramSeries,
  ) {}

  observe(value: number): void {
    observeInto(this.histogram, this.series, value);
  }

  /** Start timing; the returned function observes the elapsed seconds and returns them. */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.observe(seconds);
      return seconds;
    };
  }
}

function observeInto(histogram: Histogram<string>, series: HistogramSeries, value: number): void {
  if (Number.isNaN(value)) throw new Error(`metric ${histogram.name}: cannot observe NaN`);
  const buckets = histogram.buckets;
  // Linear scan: bucket lists are short (~10), which beats a binary search's branches.
  let i = 0;
  while (i < buckets.length && value > buckets[i]!) i++;
  series.counts[i]!++;
  series.sum += value;
  series.count++;
}

function validBuckets(metricName: string, buckets: readonly number[]): readonly number[] {
  const bounds = buckets.length > 0 && buckets[buckets.length - 1] === Infinity ? buckets.slice(0, -1) : [...buckets];
  for (let i = 0; i < bounds.length; i++) {
    const bound = bounds[i]!;
    if (!Number.isFinite(bound)) throw new Error(`metric ${metricName}: bucket ${bound} is not a finite number (+Inf is added by itself)`);
    if (i > 0 && bound <= bounds[i - 1]!) throw new Error(`metric ${metricName}: buckets must be strictly increasing, got ${bounds[i - 1]} then ${bound}`);
  }
  return bounds;
}

type AnyMetric = Metric<string, { readonly labelText: string }>;

/** The metrics one `/metrics` endpoint serves. */
export class Registry {
  private readonly metrics: AnyMetric[] = [];
  /** Every sample name in use, so `x_count` and histogram `x` cannot both be registered. */
  private readonly sampleNames = new Set<string>();

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.register(new Counter<L>(options));
  }

  gauge<L extends string = never>(options: GaugeOptions<L>): Gauge<L> {
    return this.register(new Gauge<L>(options));
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.register(new Histogram<L>(options));
  }

  /** Every metric in exposition format 0.0.4 (serve with PROMETHEUS_CONTENT_TYPE). */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics) metric.render(lines);
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  private register<M extends AnyMetric>(metric: M): M {
    const names = metric.sampleNames();
    for (const name of names) {
      if (this.sampleNames.has(name)) throw new Error(`metric ${metric.name}: the sample name ${name} is already registered`);
    }
    for (const name of names) this.sampleNames.add(name);
    this.metrics.push(metric);
    return metric;
  }
}

function sample(name: string, labelText: string, value: number): string {
  return labelText === '' ? `${name} ${formatNumber(value)}` : `${name}{${labelText}} ${formatNumber(value)}`;
}

/** Go's ParseFloat spellings, which Prometheus reads: +Inf, -Inf, NaN, and JS numbers. */
function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value); // NaN → "NaN"; 1e-7 and 1e+21 are valid ParseFloat input
}

/** Label values escape backslash, double quote and line feed. */
function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** HELP text escapes backslash and line feed (quotes stay as they are). */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
