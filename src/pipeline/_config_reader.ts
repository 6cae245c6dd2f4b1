/**
 * Reads typed values out of a YAML document, collecting an issue (file,
 * line, field path) for everything that does not fit instead of throwing at
 * the first. Internal to `src/pipeline/`.
 *
 * @module
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "../npm/yaml.ts";
import type { ConfigIssue } from "./config_error.ts";

/** A node and where it is: its field path and line. */
export interface Field {
  /** The YAML node; undefined when the field is absent. */
  node: Node | undefined;
  /** The field path, e.g. `processors[1].plugin`. */
  path: string;
  /** The 1-based line of the node (or of its parent when absent). */
  line: number | undefined;
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)$/i;
/** `${VAR}` or `${VAR:default}` (not `${! … }`, which the pipeline fills in per message). */
const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env for it: as if unset
  }
}

const BARE_NUMBER = /^\d+(?:\.\d+)?$/;
const SIZE_BYTES: Record<string, number> = {
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Collects issues while reading fields of one document. */
export class ConfigReader {
  readonly file: string;
  readonly issues: ConfigIssue[] = [];
  readonly #lines = new LineCounter();
  readonly root: Field;

  constructor(
    file: string,
    text: string,
    env: (name: string) => string | undefined = readEnv,
  ) {
    this.file = file;
    text = this.#interpolate(text, env);
    const doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false });
    for (const error of doc.errors) {
      this.issues.push({
        file,
        line: this.#lines.linePos(error.pos[0]).line,
        field: "",
        message: `invalid YAML: ${error.message.split("\n")[0]}`,
      });
    }
    const node = doc.contents ?? undefined;
    this.root = { node: node as Node | undefined, path: "", line: this.#lineOf(node, 1) };
  }

  /**
   * Replaces environment references as Redpanda Connect writes them,
   * `${VAR}` and `${VAR:default}`, in the text before it is parsed; leaves
   * dynamic `${! … }` alone. An unset variable without a default is an issue.
   */
  #interpolate(text: string, env: (name: string) => string | undefined): string {
    return text.replace(
      ENV_REFERENCE,
      (whole, name: string, fallback: string | undefined, at: number) => {
        const value = env(name);
        if (value !== undefined && value !== "") return value;
        if (fallback !== undefined) return fallback;
        const line = text.slice(0, at).split("\n").length;
        this.issues.push({
          file: this.file,
          line,
          field: "",
          message: `${whole}: the environment variable ${name} is not set ` +
            `(set it, or give a default: \${${name}:value})`,
        });
        return ""; // ("${…}" left in place would break a YAML flow map)
      },
    );
  }

  #lineOf(node: unknown, fallback: number | undefined): number | undefined {
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    return range ? this.#lines.linePos(range[0]).line : fallback;
  }

  /** Records an issue at a field. */
  fail(field: Field, message: string): undefined {
    const issue: ConfigIssue = { file: this.file, field: field.path, message };
    if (field.line !== undefined) issue.line = field.line;
    this.issues.push(issue);
    return undefined;
  }

  /** A field's child by key (absent → a field with no node, at the parent's line). */
  child(field: Field, key: string): Field {
    const path = field.path ? `${field.path}.${key}` : key;
    if (!isMap(field.node)) return { node: undefined, path, line: field.line };
    const pair = field.node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    const node = (pair?.value ?? undefined) as Node | undefined;
    return { node, path, line: this.#lineOf(node ?? pair?.key, field.line) };
  }

  /** Whether a field is present (and not null). */
  has(field: Field): boolean {
    return field.node !== undefined && !(isScalar(field.node) && field.node.value === null);
  }

  /** Checks a field is a map whose keys are all in `allowed`; returns its keys. */
  map(field: Field, allowed: readonly string[]): string[] | undefined {
    if (!this.has(field)) return [];
    if (!isMap(field.node)) return this.fail(field, "must be a map");
    const keys: string[] = [];
    for (const pair of field.node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const at = this.child(field, key);
      if (!allowed.includes(key)) {
        const near = nearest(key, allowed);
        this.fail(
          { ...at, line: this.#lineOf(pair.key, field.line) },
          near === undefined
            ? `unknown field (expected one of: ${allowed.join(", ")})`
            : `unknown field: did you mean \`${near}\`? (expected one of: ${allowed.join(", ")})`,
        );
      } else keys.push(key);
    }
    return keys;
  }

  /** A map with exactly one key out of `kinds` (e.g. `input: { file: {...} }`). */
  oneOf(field: Field, kinds: readonly string[]): [string, Field] | undefined {
    if (!this.has(field)) return this.fail(field, `missing (expected one of: ${kinds.join(", ")})`);
    if (isScalar(field.node) && kinds.includes(String(field.node.value))) {
      const kind = String(field.node.value);
      return [kind, { node: undefined, path: `${field.path}.${kind}`, line: field.line }];
    }
    const keys = this.map(field, kinds);
    if (keys === undefined) return undefined;
    if (keys.length !== 1) {
      if (keys.length > 1) return this.fail(field, `give only one of: ${keys.join(", ")}`);
      return this.fail(field, `missing (expected one of: ${kinds.join(", ")})`);
    }
    return [keys[0]!, this.child(field, keys[0]!)];
  }

  /** The items of a sequence. */
  list(field: Field): Field[] | undefined {
    if (!this.has(field)) return [];
    if (!isSeq(field.node)) return this.fail(field, "must be a list");
    return field.node.items.map((node, index) => ({
      node: node as Node,
      path: `${field.path}[${index}]`,
      line: this.#lineOf(node, field.line),
    }));
  }

  #scalar(field: Field): unknown {
    return isScalar(field.node) ? field.node.value : undefined;
  }

  /** A string. */
  string(field: Field): string | undefined {
    if (!this.has(field)) return undefined;
    const value = this.#scalar(field);
    if (typeof value === "string" && value !== "") return value;
    if (typeof value === "number") return String(value);
    return this.fail(field, "must be a non-empty string");
  }

  /** A whole number of at least `min`. */
  integer(field: Field, min: number): number | undefined {
    if (!this.has(field)) return undefined;
    const value = this.#scalar(field);
    if (typeof value === "number" && Number.isInteger(value) && value >= min) return value;
    return this.fail(field, `must be a whole number of at least ${min}`);
  }

  /** A non-negative number. */
  number(field: Field): number | undefined {
    if (!this.has(field)) return undefined;
    const value = this.#scalar(field);
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
    return this.fail(field, "must be a number of at least 0");
  }

  /** A boolean. */
  boolean(field: Field): boolean | undefined {
    if (!this.has(field)) return undefined;
    const value = this.#scalar(field);
    if (typeof value === "boolean") return value;
    return this.fail(field, "must be true or false");
  }

  /** A duration with its unit (`250ms`, `2s`, `1m`, `1h`), in milliseconds; a bare number is an error. */
  duration(field: Field): number | undefined {
    if (!this.has(field)) return undefined;
    const value = this.#scalar(field);
    const match = typeof value === "string" ? DURATION.exec(value.trim()) : null;
    if (match) return Number(match[1]) * DURATION_MS[match[2]!]!;
    if (typeof value === "number" || BARE_NUMBER.test(String(value).trim())) {
      const n = String(value).trim();
      return this.fail(field, `"${n}" has no unit (${n}ms? ${n}s?)`);
    }
    return this.fail(field, `must be a duration such as 250ms, 2s or 1m, got ${String(value)}`);
  }

  /** A size with its unit (`512B`, `64KiB`, `1MB`), in bytes; a bare number is an error. */
  size(field: Field): number | undefined {
    if (!this.has(field)) return undefined;
    const value = this.#scalar(field);
    const match = typeof value === "string" ? SIZE.exec(value.trim()) : null;
    if (match) return Math.floor(Number(match[1]) * SIZE_BYTES[match[2]!.toLowerCase()]!);
    if (typeof value === "number" || BARE_NUMBER.test(String(value).trim())) {
      const n = String(value).trim();
      return this.fail(field, `"${n}" has no unit (${n}B? ${n}KiB? ${n}MiB?)`);
    }
    return this.fail(field, `must be a size such as 64KiB or 1MB, got ${String(value)}`);
  }

  /** A list of strings (a single string counts as a list of one). */
  strings(field: Field): string[] | undefined {
    if (!this.has(field)) return undefined;
    if (isScalar(field.node)) {
      const one = this.string(field);
      return one === undefined ? undefined : [one];
    }
    const items = this.list(field);
    if (!items) return undefined;
    const out: string[] = [];
    for (const item of items) {
      const text = this.string(item);
      if (text !== undefined) out.push(text);
    }
    return out;
  }

  /** A map of strings. */
  stringMap(field: Field): Record<string, string> | undefined {
    if (!this.has(field)) return undefined;
    if (!isMap(field.node)) return this.fail(field, "must be a map of strings");
    const out: Record<string, string> = {};
    for (const pair of field.node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const value = this.string(this.child(field, key));
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  /** Any value, as plain data (for a plugin's own configuration). */
  plain(field: Field): unknown {
    if (!this.has(field)) return undefined;
    return (field.node as { toJSON(): unknown }).toJSON();
  }
}

/** The allowed key a mistyped one most likely meant, if any is close. */
function nearest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  // close enough: a typo or two, or a dropped or added letter
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3))
    ? best
    : undefined;
}

/** Levenshtein distance, with a swap of neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]![j] = j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
