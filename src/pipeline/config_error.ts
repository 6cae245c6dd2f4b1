/**
 * The error a pipeline configuration gets: every problem, each naming the
 * file, the line and the field.
 *
 * @module
 */

/** One problem in a pipeline configuration. */
export interface ConfigIssue {
  /** The file, as given. */
  file: string;
  /** The 1-based line, when known. */
  line?: number;
  /** The field, e.g. `processors[1].plugin.command`; `""` for the whole document. */
  field: string;
  /** What is wrong, e.g. `not found`. */
  message: string;
}

/**
 * A pipeline configuration that cannot run. `message` lists every issue as
 * `file:line: field: problem`, one per line.
 *
 * @example
 * ```ts
 * import { PipelineConfigError } from "./config_error.ts";
 * const error = new PipelineConfigError([
 *   { file: "pipeline.yaml", line: 12, field: "processors[1].plugin.command", message: "not found" },
 * ]);
 * if (!error.message.includes("pipeline.yaml:12: processors[1].plugin.command: not found")) {
 *   throw new Error();
 * }
 * ```
 */
export class PipelineConfigError extends Error {
  /** Every issue found. */
  readonly issues: readonly ConfigIssue[];

  /**
   * Makes the error from its issues.
   *
   * @param issues The issues (at least one).
   * @param options The underlying cause, if any.
   */
  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    // YAML syntax first (it may cause the rest), then in file order, so the
    // reader can fix them top to bottom (stable within one line)
    const syntax = (issue: ConfigIssue) => issue.message.startsWith("invalid YAML") ? 0 : 1;
    issues = [...issues].sort((a, b) =>
      syntax(a) - syntax(b) ||
      (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : a.file < b.file ? -1 : 1)
    );
    super(
      `Cannot run pipeline: ${issues.length === 1 ? "" : `${issues.length} problems\n`}${
        issues.map(formatIssue).join("\n")
      }`,
      options,
    );
    this.name = "PipelineConfigError";
    this.issues = issues;
  }
}

/**
 * Formats one issue as `file:line: field: message`.
 *
 * @param issue The issue.
 * @returns The line.
 */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.field ? `${where}: ${issue.field}: ${issue.message}` : `${where}: ${issue.message}`;
}
