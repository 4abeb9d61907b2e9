/**
 * bench/callgrind.ts reads callgrind_annotate's output: the program total, each function's self
 * cost under a short name (generated code counted together), and per-lookup differences.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JIT_CODE, parseCallgrindAnnotate, perRequestDiff } from '../../../bench/callgrind.js';

const SAMPLE = `--------------------------------------------------------------------------------
Profile data file 'callgrind.bridge-1.123.1' (creator: callgrind-3.19.0)
--------------------------------------------------------------------------------
Events recorded:  Ir
Events shown:     Ir
--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
423,509,087 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                  file:function
--------------------------------------------------------------------------------
40,000,000 ( 9.45%)  ???:0x000000000d15d6c0 [???]
 2,000,000 ( 0.47%)  ???:0x000000000d162380 [???]
 9,100,000 ( 2.15%)  ???:v8::internal::String::ComputeAndSetRawHash(v8::internal::SharedStringAccessGuardIfNeeded const&) [/usr/bin/node]
 7,773,616 ( 1.84%)  ./malloc/./malloc/malloc.c:_int_malloc [/usr/lib/x86_64-linux-gnu/libc.so.6]
 6,694,758 ( 1.58%)  ???:v8::internal::(anonymous namespace)::IterateObjectCache(v8::internal::Isolate*, std::vector<v8::internal::Object> >*) [/usr/bin/node]
 3,400,000 ( 0.80%)  ???:Builtins_LoadIC [/usr/bin/node]
 1,000,000 ( 0.24%)  ???:0x0000000000012345 [/usr/lib/x86_64-linux-gnu/libfoo.so.1]
   500,000 ( 0.12%)  src/util.cc:node::Foo::operator()(int) const [/usr/bin/node]
   400,000 ( 0.09%)  /usr/include/c++/12/bits/stl_vector.h:std::vector<int>::push_back(int const&) [/usr/bin/node]
`;

test('the program total and each function, generated code counted together, names without parameters', () => {
  const c = parseCallgrindAnnotate(SAMPLE);
  assert.equal(c.total, 423_509_087);
  assert.deepEqual(
    [...c.functions.entries()],
    [
      [JIT_CODE, 42_000_000],
      ['v8::internal::String::ComputeAndSetRawHash', 9_100_000],
      ['_int_malloc', 7_773_616],
      ['v8::internal::IterateObjectCache', 6_694_758],
      ['Builtins_LoadIC', 3_400_000],
      ['(unknown in libfoo.so.1)', 1_000_000],
      ['node::Foo::operator()', 500_000],
      ['std::vector<int>::push_back', 400_000],
    ],
  );
});

test('text without a program total is refused', () => {
  assert.throws(() => parseCallgrindAnnotate('no profile here\n'), /PROGRAM TOTALS/);
  assert.throws(() => parseCallgrindAnnotate(''), /PROGRAM TOTALS/);
});

test('per-request differences, largest first, functions of either side included', () => {
  const a = {
    total: 300,
    functions: new Map([
      ['f', 200],
      ['g', 100],
    ]),
  };
  const b = {
    total: 100,
    functions: new Map([
      ['f', 50],
      ['h', 50],
    ]),
  };
  const d = perRequestDiff(a, 10, b, 5);
  assert.deepEqual(
    d.map((x) => [x.name, x.a, x.b, x.diff]),
    [
      ['f', 20, 10, 10],
      ['g', 10, 0, 10],
      ['h', 0, 10, -10],
    ],
  );
});
