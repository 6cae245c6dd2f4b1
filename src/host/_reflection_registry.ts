/**
 * A registry of a file sent by reflection and everything it imports:
 * imports the plugin left out are asked for by name, then taken from the
 * well-known types. Internal to `src/host/`.
 *
 * @module
 */
import { createFileRegistry, type DescFile, type FileRegistry } from "../npm/protobuf.ts";
import * as wkt from "../npm/protobuf_wkt.ts";
import type { FileDescriptorProto } from "../npm/protobuf_wkt.ts";

/** The well-known types' files, for servers that leave them out of a response. */
const WELL_KNOWN_FILES = new Map<string, DescFile>(
  Object.values(wkt)
    .filter((v): v is DescFile =>
      typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "file"
    )
    .map((file) => [file.proto.name, file]),
);

/**
 * Builds the registry of `root` from the files of its answer, asking for
 * the imports it lacks.
 *
 * @param root The declaring file.
 * @param files The answer's files (`root` first).
 * @param byFilename Asks the plugin for a file and its dependencies.
 * @returns The registry.
 * @throws {ConnectError} When an import is neither sent nor well known.
 */
export async function registryOf(
  root: FileDescriptorProto,
  files: readonly FileDescriptorProto[],
  byFilename: (name: string) => Promise<FileDescriptorProto[]>,
): Promise<FileRegistry> {
  const byName = new Map<string, FileDescriptorProto | DescFile>();
  for (const file of files) if (!byName.has(file.name)) byName.set(file.name, file);
  const missing = (file: FileDescriptorProto | DescFile) => {
    const deps = "kind" in file ? file.dependencies.map((d) => d.proto.name) : file.dependency;
    return deps.filter((name) => !byName.has(name));
  };
  const queue = files.flatMap(missing);
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (byName.has(name)) continue;
    let found: (FileDescriptorProto | DescFile)[] = [];
    try {
      found = await byFilename(name);
    } catch (error) {
      const known = WELL_KNOWN_FILES.get(name);
      if (!known) throw error;
      found = [known];
    }
    for (const file of found) {
      const fileName = "kind" in file ? file.proto.name : file.name;
      if (byName.has(fileName)) continue;
      byName.set(fileName, file);
      queue.push(...missing(file));
    }
  }
  return createFileRegistry(root, (name) => byName.get(name));
}
