/**
 * Aligning image history with the exported layers, as BuildKit's image writer does (normalizeLayersAndHistory and
 * patchImageConfig in exporter/containerimage/writer.go): one non-empty history entry per layer, missing entries
 * added, surplus ones marked empty; layers dropped for having no changes mark their entry `empty_layer`; missing
 * `created` times filled; with SOURCE_DATE_EPOCH every time after the epoch clamped, except the base image's own
 * history. Pure: no I/O.
 */
import type { HistoryEntry } from "../image/index.js";
import { epochDate, goTime } from "./go-json.js";

/** Comment of history entries the exporter had to invent for layers the frontend did not describe. */
export const EXPORTER_HISTORY_COMMENT = "buildkit.exporter.image.v0";

/** Inputs of {@link alignHistory}. */
export interface AlignHistoryOptions {
  /** Layers of the ref, bottom first: `true` where the layer is dropped for having no changes. */
  readonly dropped: readonly boolean[];
  /**
   * When each layer (same indexes as `dropped`) was built, ISO 8601: the time of its history entry when that has
   * none, as BuildKit takes the layer's `createdAt`. Cached layers keep their time, so a cached rebuild exports the
   * same history and config `created`.
   */
  readonly layerCreated?: readonly (string | undefined)[] | undefined;
  /** Time of layers with no `created` of their own nor in `layerCreated` (base-image layers without a time). */
  readonly now: Date;
  /** SOURCE_DATE_EPOCH in Unix seconds. */
  readonly sourceDateEpoch?: number | undefined;
  /** The base image's history: a leading run of identical entries keeps its timestamps under an epoch. */
  readonly baseHistory?: readonly HistoryEntry[] | undefined;
}

/** Build a history entry with Go's field order (created, created_by, author, comment, empty_layer). */
function entry(h: HistoryEntry): HistoryEntry {
  return {
    ...(h.created !== undefined ? { created: h.created } : {}),
    ...(h.created_by !== undefined ? { created_by: h.created_by } : {}),
    ...(h.author !== undefined ? { author: h.author } : {}),
    ...(h.comment !== undefined ? { comment: h.comment } : {}),
    ...(h.empty_layer ? { empty_layer: true } : {}),
  };
}

function sameEntry(a: HistoryEntry, b: HistoryEntry): boolean {
  return (
    a.created === b.created && a.created_by === b.created_by && a.author === b.author && a.comment === b.comment &&
    Boolean(a.empty_layer) === Boolean(b.empty_layer)
  );
}

/**
 * The history of the exported image. `history` has one non-empty entry per layer of the ref (the base image's
 * entries, then one per layer-producing step); the result has one non-empty entry per layer kept.
 */
export function alignHistory(history: readonly HistoryEntry[], opts: AlignHistoryOptions): HistoryEntry[] {
  const layers = opts.dropped.length;
  let out = history.map((h) => ({ ...h }));
  const nonEmpty = out.filter((h) => !h.empty_layer).length;
  if (nonEmpty > layers) {
    // More layer entries than layers: mark the ones past the last layer empty (BuildKit: "unaccounted layers").
    let l = 0;
    out = out.map((h) => {
      if (l >= layers) h.empty_layer = true;
      if (!h.empty_layer) l++;
      return h;
    });
  } else if (layers > nonEmpty) {
    for (let i = nonEmpty; i < layers; i++) out.push({ comment: EXPORTER_HISTORY_COMMENT });
  }

  const now = goTime(opts.now);
  const layerTime = (i: number): string => {
    const t = opts.layerCreated?.[i];
    const ms = t === undefined ? NaN : Date.parse(t);
    return Number.isNaN(ms) ? now : goTime(new Date(ms));
  };
  let layer = 0;
  for (const h of out) {
    if (h.empty_layer) continue;
    h.created ??= layerTime(layer);
    if (opts.dropped[layer]) h.empty_layer = true;
    layer++;
  }

  // Entries without a time take the first time after them when none came before, else the time before them.
  let created: string | undefined;
  let missing = false;
  for (const h of out) {
    if (h.created !== undefined) {
      created = h.created;
      if (missing) break;
    } else {
      missing = true;
    }
  }
  missing = false;
  for (const h of out) {
    if (h.created !== undefined) {
      if (missing) created = h.created;
    } else {
      missing = true;
      if (created !== undefined) h.created = created;
    }
  }

  if (opts.sourceDateEpoch !== undefined) {
    const epoch = epochDate(opts.sourceDateEpoch);
    const epochText = goTime(epoch);
    const base = opts.baseHistory;
    let diverged = false;
    out.forEach((h, i) => {
      if (!diverged && base && i < base.length && sameEntry(h, base[i]!)) return;
      diverged = true;
      if (h.created === undefined || Date.parse(h.created) > epoch.getTime()) h.created = epochText;
    });
  }
  return out.map(entry);
}

/**
 * The config's `created`: the given one (clamped to the epoch), else the last history time, else `now` (the epoch
 * when set).
 */
export function imageCreated(given: string | undefined, history: readonly HistoryEntry[], now: Date, sourceDateEpoch?: number): string {
  if (given !== undefined) {
    if (sourceDateEpoch !== undefined && Date.parse(given) > sourceDateEpoch * 1000) return goTime(epochDate(sourceDateEpoch));
    return given;
  }
  for (let i = history.length - 1; i >= 0; i--) {
    const c = history[i]!.created;
    if (c !== undefined) return c;
  }
  return goTime(sourceDateEpoch !== undefined ? epochDate(sourceDateEpoch) : now);
}
