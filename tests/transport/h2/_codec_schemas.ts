/**
 * Test-only message types for the codec differential test, built as
 * descriptors at run time (no code generation): a proto3 file with every
 * scalar kind singular, `optional`, packed and unpacked, enums, nested and
 * recursive messages, a oneof, maps with every key kind, a 64-bit field
 * read as a string (`jstype = JS_STRING`), twin messages that differ only
 * in packing; and a proto2 file (required, defaults, a group, a closed
 * enum) that the compiled codec leaves to protobuf-es.
 *
 * @module
 */
import { createFileRegistry, type DescMessage } from "../../../src/npm/protobuf.ts";
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  type FieldDescriptorProto,
  FieldDescriptorProtoSchema,
  FileDescriptorProtoSchema,
} from "../../../src/npm/protobuf_wkt.ts";
import { create } from "../../../src/npm/protobuf.ts";

/** FieldDescriptorProto.Type numbers. */
const T = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  group: 10,
  message: 11,
  bytes: 12,
  uint32: 13,
  enum: 14,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
} as const;
type Kind = keyof typeof T;

const SCALARS: Kind[] = [
  "double",
  "float",
  "int64",
  "uint64",
  "int32",
  "fixed64",
  "fixed32",
  "bool",
  "string",
  "bytes",
  "uint32",
  "sfixed32",
  "sfixed64",
  "sint32",
  "sint64",
];
const NUMERIC = SCALARS.filter((k) => k !== "string" && k !== "bytes");
const MAP_KEYS: Kind[] = [
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
];

interface FieldSpec {
  name: string;
  number: number;
  kind: Kind;
  label?: 1 | 2 | 3;
  typeName?: string;
  oneofIndex?: number;
  proto3Optional?: boolean;
  packed?: boolean;
  jsString?: boolean;
  defaultValue?: string;
}

function field(spec: FieldSpec): FieldDescriptorProto {
  return create(FieldDescriptorProtoSchema, {
    name: spec.name,
    number: spec.number,
    type: T[spec.kind],
    label: spec.label ?? 1,
    ...(spec.typeName === undefined ? {} : { typeName: spec.typeName }),
    ...(spec.oneofIndex === undefined ? {} : { oneofIndex: spec.oneofIndex }),
    ...(spec.proto3Optional ? { proto3Optional: true } : {}),
    ...(spec.defaultValue === undefined ? {} : { defaultValue: spec.defaultValue }),
    ...(spec.packed === undefined && !spec.jsString ? {} : {
      options: {
        ...(spec.packed === undefined ? {} : { packed: spec.packed }),
        ...(spec.jsString ? { jstype: 1 } : {}),
      },
    }),
  });
}

function message(
  name: string,
  fields: FieldDescriptorProto[],
  extra: Partial<DescriptorProto> = {},
): DescriptorProto {
  return create(DescriptorProtoSchema, { name, field: fields, ...extra } as never);
}

function mapEntry(name: string, key: Kind, value: Kind, typeName?: string): DescriptorProto {
  return message(name, [
    field({ name: "key", number: 1, kind: key }),
    field({ name: "value", number: 2, kind: value, ...(typeName ? { typeName } : {}) }),
  ], { options: { mapEntry: true } } as never);
}

function buildProto3(): DescriptorProto[] {
  const fields: FieldDescriptorProto[] = [];
  const oneofs: { name: string }[] = [];
  const nested: DescriptorProto[] = [];
  let n = 1;
  for (const kind of SCALARS) fields.push(field({ name: `s_${kind}`, number: n++, kind }));
  for (const kind of SCALARS) {
    oneofs.push({ name: `_o_${kind}` });
    fields.push(field({
      name: `o_${kind}`,
      number: n++,
      kind,
      oneofIndex: oneofs.length - 1,
      proto3Optional: true,
    }));
  }
  for (const kind of SCALARS) {
    fields.push(field({ name: `r_${kind}`, number: n++, kind, label: 3 }));
  }
  for (const kind of NUMERIC) {
    fields.push(field({ name: `u_${kind}`, number: n++, kind, label: 3, packed: false }));
  }
  fields.push(field({ name: "color", number: n++, kind: "enum", typeName: ".codec.test.Color" }));
  fields.push(
    field({ name: "colors", number: n++, kind: "enum", label: 3, typeName: ".codec.test.Color" }),
  );
  fields.push(field({ name: "child", number: n++, kind: "message", typeName: ".codec.test.All" }));
  fields.push(
    field({
      name: "children",
      number: n++,
      kind: "message",
      label: 3,
      typeName: ".codec.test.Leaf",
    }),
  );
  fields.push(field({ name: "leaf", number: n++, kind: "message", typeName: ".codec.test.Leaf" }));
  oneofs.push({ name: "choice" });
  const choice = oneofs.length - 1;
  fields.push(field({ name: "c_int32", number: n++, kind: "int32", oneofIndex: choice }));
  fields.push(field({ name: "c_string", number: n++, kind: "string", oneofIndex: choice }));
  fields.push(field({ name: "c_bytes", number: n++, kind: "bytes", oneofIndex: choice }));
  fields.push(field({ name: "c_sint64", number: n++, kind: "sint64", oneofIndex: choice }));
  fields.push(
    field({
      name: "c_leaf",
      number: n++,
      kind: "message",
      typeName: ".codec.test.Leaf",
      oneofIndex: choice,
    }),
  );
  fields.push(
    field({
      name: "c_color",
      number: n++,
      kind: "enum",
      typeName: ".codec.test.Color",
      oneofIndex: choice,
    }),
  );
  for (const key of MAP_KEYS) {
    const entry = `MKey${key}Entry`;
    nested.push(mapEntry(entry, key, "string"));
    fields.push(
      field({
        name: `m_${key}`,
        number: n++,
        kind: "message",
        label: 3,
        typeName: `.codec.test.All.${entry}`,
      }),
    );
  }
  const values: [string, Kind, string?][] = [
    ["leaf", "message", ".codec.test.Leaf"],
    ["color", "enum", ".codec.test.Color"],
    ["bytes", "bytes"],
    ["double", "double"],
    ["sint64", "sint64"],
    ["bool", "bool"],
  ];
  for (const [name, kind, typeName] of values) {
    const entry = `MValue${name}Entry`;
    nested.push(mapEntry(entry, "string", kind, typeName));
    fields.push(
      field({
        name: `mv_${name}`,
        number: n++,
        kind: "message",
        label: 3,
        typeName: `.codec.test.All.${entry}`,
      }),
    );
  }
  fields.push(field({ name: "js_int64", number: n++, kind: "int64", jsString: true }));
  fields.push(field({ name: "js_uint64s", number: n++, kind: "uint64", label: 3, jsString: true }));
  fields.push(field({ name: "far", number: 536870911, kind: "string" }));
  const leaf = message("Leaf", [
    field({ name: "text", number: 1, kind: "string" }),
    field({ name: "number", number: 2, kind: "sint32" }),
    field({ name: "data", number: 3, kind: "bytes" }),
    field({ name: "next", number: 4, kind: "message", typeName: ".codec.test.Leaf" }),
  ]);
  const twin = (name: string, packed: boolean) =>
    message(
      name,
      NUMERIC.map((kind, i) => field({ name: `v_${kind}`, number: i + 1, kind, label: 3, packed })),
    );
  return [
    message("All", fields, { oneofDecl: oneofs, nestedType: nested } as never),
    leaf,
    twin("Packed", true),
    twin("Unpacked", false),
    message("Empty", []),
  ];
}

function buildProto2(): DescriptorProto[] {
  return [
    message("Legacy", [
      field({ name: "id", number: 1, kind: "int32", label: 2 }),
      field({ name: "name", number: 2, kind: "string", defaultValue: "anon" }),
      field({ name: "ratio", number: 3, kind: "double", defaultValue: "1.5" }),
      field({ name: "mood", number: 4, kind: "enum", typeName: ".codec.legacy.Mood" }),
      field({ name: "values", number: 5, kind: "int32", label: 3 }),
      field({ name: "grp", number: 6, kind: "group", typeName: ".codec.legacy.Legacy.Grp" }),
    ], {
      nestedType: [message("Grp", [field({ name: "a", number: 7, kind: "int32" })])],
    } as never),
  ];
}

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "codec_test.proto",
    package: "codec.test",
    syntax: "proto3",
    messageType: buildProto3(),
    enumType: [{
      name: "Color",
      value: [{ name: "COLOR_UNSPECIFIED", number: 0 }, { name: "RED", number: 1 }, {
        name: "BLUE",
        number: -3,
      }],
    }],
  } as never),
  () => undefined,
);
const legacyRegistry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "codec_legacy.proto",
    package: "codec.legacy",
    syntax: "proto2",
    messageType: buildProto2(),
    enumType: [{ name: "Mood", value: [{ name: "HAPPY", number: 1 }, { name: "SAD", number: 2 }] }],
  } as never),
  () => undefined,
);

function get(reg: typeof registry, name: string): DescMessage {
  const desc = reg.getMessage(name);
  if (desc === undefined) throw new Error(`no message ${name}`);
  return desc;
}

/** Every scalar kind, presence, packing, maps, oneofs, nesting, recursion. */
export const AllSchema: DescMessage = get(registry, "codec.test.All");
/** A small recursive message. */
export const LeafSchema: DescMessage = get(registry, "codec.test.Leaf");
/** Repeated numeric fields, packed. */
export const PackedSchema: DescMessage = get(registry, "codec.test.Packed");
/** The same fields and numbers as `PackedSchema`, unpacked. */
export const UnpackedSchema: DescMessage = get(registry, "codec.test.Unpacked");
/** No fields: everything it reads is unknown. */
export const EmptySchema: DescMessage = get(registry, "codec.test.Empty");
/** proto2: required, defaults, a group, a closed enum (left to protobuf-es). */
export const LegacySchema: DescMessage = get(legacyRegistry, "codec.legacy.Legacy");
