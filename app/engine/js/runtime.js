// The sandbox inside each V8 isolate: n8n's expression variables, the batched evaluator and the
// Code node runner. Python talks to it through the single `call` function it returns: the request
// is `this` (a string: one JSON header line, then one line per JSON payload such as the input
// items), the answer a JSON string. Everything a session loads lives in `S` and is dropped when the
// session ends; the built-ins are frozen so that no session can change what the next one sees.
function createRuntime({ luxon, jmespath, acorn }) {

  const G = globalThis;
  const { DateTime, Duration, Interval, Settings } = luxon;
  const evalScript = G.eval; // compiles expressions; the global `eval` is replaced below
  const nativeFreeze = Object.freeze;
  const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

  // V8 aborts the whole process when a sparse array's hash table outgrows its maximum size,
  // which `new Array(1e9).fill(0)` reaches before any heap limit triggers; refuse such lengths.
  const MAX_ARRAY_LENGTH = 1e7;
  const MAX_CONSOLE_LINES = 1000;
  const MAX_COMPILED = 5000;
  // Microtask turns given to user promises before the next virtual timer fires.
  const TURNS_PER_TIMER = 200;

  const hashes = createHashes();
  const ext = createExtensions({ DateTime, hashes });
  const transform = createTransform({
    acorn, names: ext.names, extendName: '__ffExtend', extendOptionalName: '__ffExtendOptional',
  });

  class ExpressionError extends Error {
    constructor(message, description) {
      super(message);
      if (description) this.description = description;
    }
  }
  Object.defineProperty(ExpressionError.prototype, 'name', { value: 'ExpressionError' });
  const fail = (message, description) => { throw new ExpressionError(message, description); };

  // Thrown when a session lacks data the code asked for; Python loads it and repeats the request.
  class NeedData {
    constructor(what) { this.what = what; }
  }

  // ------------------------------------------------------------------------------ session data
  let S = null;

  function need(what) {
    S.needs.add(what);
    throw new NeedData(what);
  }

  // Stands in for `$json` until the items are loaded: touching it asks Python for them.
  const ITEMS_NOT_LOADED = new Proxy(nativeFreeze({}), {
    get: () => need('items'), has: () => need('items'), ownKeys: () => need('items'),
    getOwnPropertyDescriptor: () => need('items'),
  });

  function jsonAt(index) {
    if (S.itemCount === 0) return {};
    if (S.J) return S.J[index];
    if (S.columnKeys.length) return rowAt(index);
    return ITEMS_NOT_LOADED;
  }

  // When expressions only read `$json.field`, Python sends just those fields, as columns, and
  // `$json` is one object refilled for each item: no object per item (a million items would not
  // fit the heap limit otherwise). An absent field reads as undefined, as on the real item.
  function rowAt(index) {
    if (S.rowIndex !== index) {
      S.fillRow(S.row, S.columnValues, index);
      S.rowIndex = index;
    }
    return S.row;
  }

  // A filler with one constant-key store per field, which V8 runs far faster than a loop of
  // computed-key stores (keys are JSON-quoted, so no key can inject code).
  function rowFiller(keys) {
    const stores = keys.map((key, k) => `row[${JSON.stringify(key)}] = columns[${k}][index];`).join(' ');
    return evalScript(`'use strict'; (function (row, columns, index) { ${stores} })`);
  }

  function binaryAt(index) {
    if (!S.meta.hasBinary) return undefined;
    if (!S.B) need('binary');
    return S.B[index] ?? undefined;
  }

  function inputItems() {
    if (!S.wrappers) {
      if (S.itemCount > 0 && !S.J) need('items');
      if (S.meta.hasBinary && !S.B) need('binary');
      S.wrappers = (S.J || []).map((json, i) => (S.B && S.B[i] ? { json, binary: S.B[i] } : { json }));
    }
    return S.wrappers;
  }

  function nodeData(name) {
    if (!S.nodes.has(name)) need(`node:${name}`);
    const node = S.nodes.get(name);
    if (!node.exists) fail("Referenced node doesn't exist", `No node called '${name}' in this workflow`);
    return node;
  }

  function runOutputs(node, name, run) {
    const runIndex = run === undefined || run === -1 ? node.runs.length - 1 : run;
    if (runIndex < 0 || runIndex >= node.runs.length) fail(`Run ${runIndex} of node "${name}" not found`);
    return node.runs[runIndex] || [];
  }

  function outputItems(node, name, branch, run) {
    const outputs = runOutputs(node, name, run);
    const index = branch === undefined ? node.branch : branch;
    if (index >= outputs.length) {
      if (index === 0) fail('No data found from `main` input');
      fail(`Node "${name}" has no branch with index ${index}.`);
    }
    return outputs[index] || [];
  }

  function ensureExecuted(node, name) {
    if (!node.executed) {
      fail(`Node '${name}' hasn't been executed`,
        `An expression references this node, but the node is unexecuted. Consider checking for execution first, i.e. {{ $if($("${name}").isExecuted, <action_if_executed>, "") }}`);
    }
  }

  function pairedItem(node, name, index, method) {
    if (!node.paired) need(`paired:${name}`);
    if (index < 0 || index >= node.paired.length) {
      fail('Can’t get data for expression', `There is no input item ${index} to trace back to '${name}'`);
    }
    const ref = node.paired[index];
    if (!ref) {
      fail(`Paired item data for ${method} from node '${name}' is unavailable. Ensure '${name}' is providing the required output.`);
    }
    const [run, output, item] = ref;
    return node.runs[run][output][item];
  }

  function nodeProxy(name) {
    if (typeof name !== 'string' || name === '') fail('When calling $(), please specify a node');
    const node = nodeData(name);
    const executed = () => { ensureExecuted(node, name); return node; };
    return nativeFreeze({
      get item() { return pairedItem(executed(), name, S.index, 'item'); },
      itemMatching(index) {
        if (index === undefined) fail('Missing item index for .itemMatching()');
        return pairedItem(executed(), name, index, 'itemMatching');
      },
      pairedItem(index) { return pairedItem(executed(), name, index ?? S.index, 'pairedItem'); },
      first(branch, run) { return outputItems(executed(), name, branch, run)[0]; },
      last(branch, run) {
        const items = outputItems(executed(), name, branch, run);
        return items[items.length - 1];
      },
      all(branch, run) { return outputItems(executed(), name, branch, run); },
      get isExecuted() { return node.executed; },
      get params() { return node.params; },
      get context() { return node.context; },
    });
  }

  // `$node["X"]`: n8n's legacy accessor, which reads item number `$itemIndex` without pairing.
  function legacyNode(name, indexOf) {
    const node = nodeData(name);
    const current = () => {
      const items = node.executed ? outputItems(node, name) : [];
      if (!items.length) ensureExecuted({ executed: false }, name);
      const index = indexOf();
      if (items.length <= index) {
        fail(`"${name}" node has ${items.length} item(s) but you're trying to access item ${index}`);
      }
      return items[index];
    };
    const withoutData = (binary) => Object.fromEntries(Object.entries(binary || {})
      .map(([key, value]) => [key, Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'data'))]));
    return nativeFreeze({
      get json() { return current().json; },
      get data() { return current().json; },
      get binary() { return withoutData(current().binary); },
      get parameter() { return node.params; },
      get context() { return node.context; },
      get runIndex() { return node.runs.length - 1; },
    });
  }

  const nodeMap = (indexOf) => new Proxy(nativeFreeze({}), {
    get: (_, name) => (typeof name === 'string' ? legacyNode(name, indexOf) : undefined),
    has: () => true,
  });

  const $node = nodeMap(() => S.index);

  function noInput() {
    if (S.itemCount === 0) fail('No execution data available');
  }

  const $input = nativeFreeze({
    get item() { noInput(); return inputItems()[S.index]; },
    all() { return S.itemCount === 0 ? [] : inputItems(); },
    first(...args) {
      if (args.length) fail('$input.first() should have no arguments');
      noInput();
      return inputItems()[0];
    },
    last(...args) {
      if (args.length) fail('$input.last() should have no arguments');
      noInput();
      const items = inputItems();
      return items[items.length - 1];
    },
    get params() { return S.meta.prevNodeParameters ?? {}; },
    get context() { return S.meta.prevNodeContext ?? {}; },
  });

  function $items(name, output, run) {
    if (name === undefined) return S.itemCount === 0 ? [] : inputItems();
    const node = nodeData(name);
    ensureExecuted(node, name);
    return outputItems(node, name, output || 0, run === undefined ? -1 : run);
  }

  function $item(index) {
    return nativeFreeze({
      get $json() { return jsonAt(index); },
      get $binary() { return binaryAt(index); },
      $node: nodeMap(() => index),
    });
  }

  function $jmespath(data, query) {
    if (typeof data !== 'object' || typeof query !== 'string') {
      fail('expected two arguments (Object, string) for this function');
    }
    return jmespath.search(Array.isArray(data) ? data : { ...data }, query);
  }

  function $ifEmpty(...args) {
    if (args.length !== 2) fail('expected two arguments (value, defaultValue) for this function');
    const [value, fallback] = args;
    if (value === undefined || value === null || value === '') return fallback;
    if (typeof value === 'object' && (Array.isArray(value) ? !value.length : !Object.keys(value).length)) return fallback;
    return value;
  }

  function $if(test, whenTrue, whenFalse = false) {
    return test ? whenTrue : whenFalse;
  }

  function execution() {
    if (!S.execution) {
      const data = S.customData;
      S.execution = {
        ...S.meta.execution,
        customData: {
          set(key, value) { data[key] = String(value); },
          setAll(values) { Object.entries(values || {}).forEach(([k, v]) => { data[k] = String(v); }); },
          get(key) { return data[key]; },
          getAll() { return { ...data }; },
        },
      };
    }
    return S.execution;
  }

  // Globals whose value depends on the session (or the current item): read-only accessors.
  const SESSION_GLOBALS = {
    $now: () => S.now,
    $today: () => S.today,
    $workflow: () => S.meta.workflow,
    $execution: execution,
    $vars: () => S.meta.vars,
    $prevNode: () => S.meta.prevNode ?? { name: undefined, outputIndex: undefined, runIndex: undefined },
    $runIndex: () => S.meta.runIndex,
    $thisRunIndex: () => S.meta.runIndex,
    $mode: () => S.meta.mode,
    $parameter: () => S.meta.parameters,
    $rawParameter: () => S.meta.parameters,
    $nodeVersion: () => S.meta.nodeVersion,
    $nodeId: () => S.meta.nodeId,
    $env: () => fail('access to env vars denied',
      'Access to environment variables is not allowed in expressions or the Code node.'),
    $json: () => jsonAt(S.index),
    $data: () => jsonAt(S.index),
    $binary: () => binaryAt(S.index) ?? {},
    $thisItem: () => inputItems()[S.index],
    $itemIndex: () => S.index,
    $thisItemIndex: () => S.index,
    $position: () => S.index,
  };

  const CONSTANT_GLOBALS = {
    $input,
    $: nodeProxy,
    $node,
    $items,
    $item,
    $jmespath,
    $jmesPath: $jmespath,
    $if,
    $ifEmpty,
    $min: Math.min,
    $max: Math.max,
    $average: (...values) => ext.extend(values, 'average', []),
    $not: (value) => !value,
    DateTime,
    Duration,
    Interval,
    __ffExtend: ext.extend,
    __ffExtendOptional: ext.extendOptional,
  };

  // ------------------------------------------------------------------------------- compilation
  const compiled = new Map();

  function remember(key, value) {
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(key, value);
    return value;
  }

  const thrower = (error) => () => { throw error; };

  // One `{{ }}` part as a function of ($json, $itemIndex), strict so that typos throw.
  function compileChunk(text) {
    let code = text.trim();
    while (code.endsWith(';')) code = code.slice(0, -1).trimEnd();
    if (code === '') return () => undefined;
    if (/\.\s*constructor/.test(code)) {
      return thrower(new ExpressionError('Expression contains invalid constructor function call',
        'Constructor override attempt is not allowed due to security concerns'));
    }
    if (code.startsWith('{')) code = `(${code})`;
    try {
      return evalScript(`'use strict'; (function ($json, $itemIndex) { return (\n${transform(code)}\n); })`);
    } catch (error) {
      return thrower(new ExpressionError(`invalid syntax: ${error.message}`));
    }
  }

  // n8n's splitter: text, then `{{ code }}`, ...; `\{{` is literal, `}}` inside a string is code.
  function splitTemplate(text) {
    const chunks = [];
    let buffer = '';
    let inCode = false;
    let i = 0;
    while (i < text.length) {
      const marker = inCode ? '}}' : '{{';
      const at = text.indexOf(marker, i);
      if (at === -1) break;
      if (at > 0 && text[at - 1] === '\\') {
        buffer += text.slice(i, at + 2);
        i = at + 2;
        continue;
      }
      if (inCode && insideString(buffer + text.slice(i, at))) {
        buffer += text.slice(i, at + 2);
        i = at + 2;
        continue;
      }
      buffer += text.slice(i, at);
      chunks.push(inCode ? { code: buffer.replace('\\}}', '}}') } : { text: buffer });
      buffer = '';
      inCode = !inCode;
      i = at + 2;
    }
    buffer += text.slice(i);
    if (inCode) chunks.push({ code: buffer.replace('\\}}', '}}') });
    else if (buffer !== '' || chunks.length === 0) chunks.push({ text: buffer });
    return chunks;
  }

  function insideString(code) {
    let quote = null;
    for (let i = 0; i < code.length; i++) {
      const ch = code[i];
      if (ch === '\\') { i++; continue; }
      if (quote) { if (ch === quote) quote = null; } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    }
    return quote !== null;
  }

  // A parameter string (without its leading "=") as a function of ($json, $itemIndex): one sole
  // `{{ }}` keeps the value's type, anything else is joined into text as n8n's tournament does.
  function compileParameter(text) {
    const key = `p:${text}`;
    if (compiled.has(key)) return compiled.get(key);
    const chunks = splitTemplate(text);
    if (chunks.length === 1 && 'text' in chunks[0]) return remember(key, () => text);
    if (chunks.length === 2 && chunks[0].text === '' && 'code' in chunks[1]) {
      return remember(key, compileChunk(chunks[1].code));
    }
    const parts = chunks.filter((c) => !('text' in c && c.text === ''))
      .map((c) => ('text' in c ? c.text : compileChunk(c.code)));
    return remember(key, (json, index) => {
      let out = '';
      for (const part of parts) {
        if (typeof part === 'string') {
          out += part;
        } else {
          const value = part(json, index);
          if (value || value === 0 || value === false) out += String(value);
        }
      }
      return out;
    });
  }

  // ---------------------------------------------------------------------------------- results
  function describeError(error) {
    try {
      if (error && typeof error === 'object') {
        const info = { message: String(error.message ?? error), name: String(error.name ?? 'Error') };
        if (typeof error.description === 'string') info.description = error.description;
        const line = /\bCode:(\d+):\d+/.exec(String(error.stack ?? ''));
        if (line) info.line = Number(line[1]);
        return info;
      }
      return { message: String(error), name: 'Error' };
    } catch {
      return { message: 'Unknown error', name: 'Error' };
    }
  }

  function checkValue(value) {
    if (typeof value === 'function') {
      if (value === DateTime) fail('this is a DateTime, please access its methods');
      fail('this is a function, please add ()');
    }
    return value;
  }

  // JSON.stringify fails on BigInt and cycles; only then pay for checking value by value.
  function stringifyValues(values, errors) {
    try {
      return JSON.stringify({ v: values, e: errors });
    } catch {
      values.forEach((list, slot) => list.forEach((value, index) => {
        try {
          JSON.stringify(value);
        } catch (error) {
          list[index] = null;
          errors.push([index, slot, describeError(error)]);
        }
      }));
      return JSON.stringify({ v: values, e: errors });
    }
  }

  // -------------------------------------------------------------------------------- operations
  function opEvaluate(req) {
    const functions = req.exprs.map((text) => compileParameter(text.slice(1)));
    const values = [];
    const errors = [];
    for (let slot = 0; slot < functions.length; slot++) values.push(new Array(S.count));
    for (let i = 0; i < S.count; i++) {
      S.index = i;
      const json = jsonAt(i);
      for (let slot = 0; slot < functions.length; slot++) {
        const fn = functions[slot]; // called plainly, so `this` stays undefined
        try {
          values[slot][i] = checkValue(fn(json, i));
        } catch (error) {
          if (error instanceof NeedData) return null;
          values[slot][i] = null;
          errors.push([i, slot, describeError(error)]);
        }
      }
    }
    return stringifyValues(values, errors);
  }

  // Virtual timers: user code may wait on setTimeout, but time does not pass in the sandbox; the
  // earliest timer fires once the user's promise chain has nothing else to do.
  function createTimers(onError) {
    const queue = [];
    let now = 0;
    let seq = 0;
    const add = (fn, delay, args, every) => {
      if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
      seq += 1;
      queue.push({ at: now + Math.max(0, Number(delay) || 0), seq, fn, args, every });
      return seq;
    };
    const clear = (id) => {
      const at = queue.findIndex((t) => t.seq === id);
      if (at !== -1) queue.splice(at, 1);
    };
    return {
      setTimeout: (fn, delay, ...args) => add(fn, delay, args, 0),
      setInterval: (fn, delay, ...args) => add(fn, delay, args, Math.max(1, Number(delay) || 0)),
      setImmediate: (fn, ...args) => add(fn, 0, args, 0),
      clearTimeout: clear,
      clearInterval: clear,
      fireNext() {
        if (!queue.length) return false;
        queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const timer = queue.shift();
        now = timer.at;
        if (timer.every) queue.push({ ...timer, at: now + timer.every });
        try {
          timer.fn(...timer.args);
        } catch (error) {
          onError(error);
        }
        return true;
      },
    };
  }

  function createConsole(lines) {
    const format = (value) => {
      if (typeof value === 'string') return value;
      try {
        const json = JSON.stringify(value);
        return json === undefined ? String(value) : json;
      } catch {
        return String(value);
      }
    };
    const log = (...args) => {
      if (lines.length < MAX_CONSOLE_LINES) lines.push(args.map(format).join(' '));
    };
    return nativeFreeze({ log, info: log, warn: log, error: log, debug: log, trace: log });
  }

  // The legacy name of the mode's data comes last: `items` (all items) or `item` (each item); the
  // other one is not declared, so using it fails as in n8n.
  const CODE_PARAMS = '$input, $json, $binary, $itemIndex, console, setTimeout, clearTimeout, setInterval, '
    + 'clearInterval, setImmediate, require, ';

  // The user's code is the body of a function (sloppy, as in n8n, so `for (x of items)` works);
  // it is async only when it awaits, so that plain code runs and returns in a single call.
  function compileCode(code, mode) {
    const isAsync = /\bawait\b/.test(code);
    const key = `c:${isAsync}:${mode}:${code}`;
    if (compiled.has(key)) return compiled.get(key);
    const legacy = mode === 'each' ? 'item' : 'items';
    const source = `(${isAsync ? 'async ' : ''}function (${CODE_PARAMS}${legacy}) {${code}\n})`;
    try {
      return remember(key, { fn: evalScript(`${source}\n//# sourceURL=Code`) });
    } catch (error) {
      return remember(key, { error: { ...describeError(error), line: syntaxErrorLine(source) } });
    }
  }

  // V8 does not say where a compile error is; acorn does.
  function syntaxErrorLine(source) {
    try {
      acorn.parse(source, { ecmaVersion: 'latest' });
    } catch (error) {
      return error.loc ? error.loc.line : undefined;
    }
    return undefined;
  }

  const isThenable = (v) => v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';

  // Await a user promise while letting virtual timers fire when it is otherwise stuck.
  async function settle(promise, timers, job) {
    let state = 0;
    let value;
    Promise.resolve(promise).then((v) => { state = 1; value = v; }, (e) => { state = 2; value = e; });
    while (state === 0 && !job.timerError) {
      for (let turn = 0; turn < TURNS_PER_TIMER && state === 0; turn++) await null;
      if (state === 0) timers.fireNext();
    }
    if (job.timerError) throw job.timerError.error;
    if (state === 2) throw value;
    return value;
  }

  function requireBlocked(name) {
    throw new Error(`Cannot find module '${name}'`);
  }

  // As in n8n, all-items code sees `items` and the first item as `$json`; each-item code sees
  // `item` and `$json` for its own item.
  function callUser(fn, index, job, timers) {
    const each = job.mode === 'each';
    const current = S.itemCount > 0 ? inputItems()[index] : undefined;
    S.index = index;
    return fn.call({}, $input, current?.json, current?.binary ?? {}, index, job.console, timers.setTimeout,
      timers.clearTimeout, timers.setInterval, timers.clearInterval, timers.setImmediate, requireBlocked,
      each ? current : $input.all());
  }

  // ------------------------------------------------------------------- Code node results
  // n8n's rules for what Code may return (result-validation.ts, normalizeItems), applied here
  // because a large output is checked far faster in V8 than after conversion to Python.
  const ITEM_KEYS = new Set(['json', 'binary', 'pairedItem', 'error', 'metadata', 'index']);
  const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

  function invalid(message, description, itemIndex) {
    const error = { validation: true, message, description };
    if (itemIndex !== undefined) error.itemIndex = itemIndex;
    throw error;
  }

  function normalizeItems(value) {
    const entries = Array.isArray(value) ? value : [value.json ? value : { json: value }];
    const withJson = entries.filter((e) => 'json' in e).length;
    if (withJson === entries.length) return entries;
    if (withJson) invalid('Inconsistent item format', 'Either every returned object has a json key or none has.');
    const withBinary = entries.filter((e) => 'binary' in e).length;
    if (withBinary === entries.length) {
      return entries.map(({ binary, ...json }) => ({ json, binary }));
    }
    if (withBinary) invalid('Inconsistent item format', 'Either every returned object has a binary key or none has.');
    return entries.map((json) => ({ json }));
  }

  function checkItem(item, index) {
    if (!isObject(item.json)) {
      invalid("A 'json' property isn't an object",
        "In the returned data, every key named 'json' must point to an object.", index);
    }
    if (item.binary !== undefined && !isObject(item.binary)) {
      invalid("A 'binary' property isn't an object",
        "In the returned data, every key named 'binary' must point to an object.", index);
    }
  }

  function checkTopLevelKeys(item, index) {
    let reserved = null;
    const unknown = [];
    for (const key of Object.keys(item)) {
      if (ITEM_KEYS.has(key)) reserved = reserved ?? key;
      else unknown.push(key);
    }
    if (!unknown.length) return;
    if (reserved) {
      invalid('Invalid output format', `An output item contains the reserved key <code>${reserved}</code>. `
        + 'To get around this, please wrap each item in an object, under a key called <code>json</code>.', index);
    }
    invalid(`Unknown top-level item key: ${unknown[0]}`,
      'Access the properties of an item under `.json`, e.g. `item.json`', index);
  }

  function allItemsOutput(value) {
    if (value === null) return [];
    if (typeof value !== 'object' || (Array.isArray(value) && !value.every(isObject))) {
      invalid("Code doesn't return items properly",
        'Please return an array of objects, one for each item you would like to output.');
    }
    if (Array.isArray(value) && value.some((e) => Object.keys(e).some((k) => ITEM_KEYS.has(k)))) {
      value.forEach(checkTopLevelKeys);
    }
    const items = normalizeItems(value);
    items.forEach(checkItem);
    // Unpaired items are paired by the runner, with n8n's automatic rules, as for any node.
    const seen = new Set();
    items.forEach((item) => standardize(item.json, seen));
    return items;
  }

  function eachItemOutput(value, index) {
    if (value === null) return null; // null drops the item
    if (typeof value !== 'object') {
      invalid("Code doesn't return an object",
        `Please return an object representing the output item. ('${value}' was returned instead.)`, index);
    }
    if (Array.isArray(value)) {
      const first = value.length ? `An array of ${typeof value[0]}s was returned.` : 'An empty array was returned.';
      invalid("Code doesn't return a single object",
        `${first} If you need to output multiple items, please use the 'Run Once for All Items' mode instead.`, index);
    }
    const [item] = normalizeItems([value]);
    checkItem(item, index);
    checkTopLevelKeys(item, index);
    const output = { json: standardize(item.json), pairedItem: { item: index } };
    if (item.binary) output.binary = item.binary;
    return output;
  }

  // [0, output] (the items, or the one item), [1] (no item), or [2, error].
  function checkedResult(job, value, index) {
    try {
      const output = job.mode === 'each' ? eachItemOutput(value, index) : allItemsOutput(value);
      return output === null ? [1] : [0, output];
    } catch (error) {
      if (error && error.validation) return [2, error];
      throw error;
    }
  }

  // A run's answer is its output items plus, for each run that failed, [position in the output,
  // item index (each-item mode), error]: successful items need no per-item wrapping that way.
  async function runJob(job, fn) {
    const timers = createTimers((error) => { job.timerError = job.timerError || { error }; });
    const each = job.mode === 'each';
    const calls = each ? S.itemCount : 1;
    for (let index = 0; index < calls; index++) {
      let result;
      try {
        const returned = callUser(fn, index, job, timers);
        const value = isThenable(returned) ? await settle(returned, timers, job) : returned;
        result = checkedResult(job, value, index);
      } catch (error) {
        if (error instanceof NeedData) { job.needs = true; break; }
        result = [2, describeError(error)];
      }
      if (result[0] === 0) {
        if (each) job.items.push(result[1]);
        else job.items = result[1];
      } else if (result[0] === 2) {
        job.errors.push([job.items.length, each ? index : null, result[1]]);
        if (job.stopOnError) break;
      }
    }
    job.done = true;
  }

  // n8n's standardizeOutput: nested non-plain objects (class instances, Maps, RegExps) become
  // their JSON text; JSON-capable ones (Date, DateTime) are left for JSON.stringify.
  function standardize(value, seen = new Set()) {
    if (typeof value !== 'object' || value === null || seen.has(value)) return value;
    seen.add(value);
    for (const key of Object.keys(value)) {
      const child = value[key];
      if (typeof child !== 'object' || child === null || typeof child.toJSON === 'function') continue;
      const proto = Object.getPrototypeOf(child);
      if (Array.isArray(child) || proto === Object.prototype || proto === null) standardize(child, seen);
      else value[key] = JSON.stringify(child);
    }
    return value;
  }

  function finishJob(job) {
    if (job.needs || S.needs.size) return null;
    try {
      return JSON.stringify({ done: true, items: job.items, errors: job.errors, console: S.console });
    } catch {
      return JSON.stringify({ done: true, ...withoutUnserializable(job), console: S.console });
    }
  }

  // Output JSON cannot carry (BigInt, cycles) fails the run that produced it: the whole output in
  // all-items mode, that item in each-item mode.
  function withoutUnserializable(job) {
    const failure = (error, itemIndex) => ({ ...describeError(error), validation: true, itemIndex });
    if (job.mode !== 'each') {
      for (let i = 0; i < job.items.length; i++) {
        try {
          JSON.stringify(job.items[i]);
        } catch (error) {
          return { items: [], errors: [[0, null, failure(error, i)]] };
        }
      }
      return { items: job.items, errors: job.errors };
    }
    const items = [];
    const errors = [];
    const earlier = [...job.errors];
    job.items.forEach((item, position) => {
      while (earlier.length && earlier[0][0] <= position) errors.push([items.length, ...earlier.shift().slice(1)]);
      try {
        JSON.stringify(item);
        items.push(item);
      } catch (error) {
        errors.push([items.length, item.pairedItem.item, failure(error, item.pairedItem.item)]);
      }
    });
    earlier.forEach((entry) => errors.push([items.length, ...entry.slice(1)]));
    return { items, errors };
  }

  function opRunCode(req) {
    S.console = [];
    const { fn, error } = compileCode(req.code, req.mode);
    if (error) return JSON.stringify({ done: true, items: [], errors: [[0, null, error]], console: S.console });
    const job = { mode: req.mode, stopOnError: req.stopOnError, items: [], errors: [], done: false,
      console: createConsole(S.console) };
    S.job = job;
    runJob(job, fn);
    return job.done ? finishJob(job) : JSON.stringify({ pending: true });
  }

  function opCollect() {
    const job = S.job;
    if (!job || !job.done) return JSON.stringify({ pending: true });
    return finishJob(job);
  }

  // --------------------------------------------------------------------------- session set-up
  function removeSessionGlobals() {
    let clean = Object.isExtensible(G);
    for (const key of Reflect.ownKeys(G)) {
      if (!BASELINE.has(key) && !Reflect.deleteProperty(G, key)) clean = false;
    }
    return clean;
  }

  function begin(meta) {
    removeSessionGlobals();
    const zone = luxon.IANAZone.isValidZone(meta.timezone) ? meta.timezone : 'UTC';
    Settings.defaultZone = zone;
    Settings.now = meta.nowMs === null || meta.nowMs === undefined ? () => Date.now() : () => meta.nowMs;
    const now = DateTime.now();
    S = {
      meta,
      itemCount: meta.itemCount,
      count: Math.max(1, meta.itemCount),
      J: undefined,
      B: undefined,
      columnKeys: [],
      columnValues: [],
      fillRow: null,
      row: {},
      rowIndex: -1,
      wrappers: undefined,
      nodes: new Map(),
      index: 0,
      needs: new Set(),
      console: [],
      customData: {},
      now,
      today: now.startOf('day'),
    };
  }

  // Some `$json` fields of every item, sent as columns; an absent field reads as undefined.
  function loadFields({ keys, values, missing }) {
    keys.forEach((key, k) => {
      const column = values[k];
      for (const index of missing[k]) column[index] = undefined;
      S.columnKeys.push(key);
      S.columnValues.push(column);
    });
    S.fillRow = rowFiller(S.columnKeys);
    S.rowIndex = -1;
  }

  function load(kind, name, payload) {
    const data = JSON.parse(payload);
    if (kind === 'items') {
      S.J = data;
      S.wrappers = undefined;
    } else if (kind === 'fields') {
      loadFields(data);
    } else if (kind === 'binary') {
      S.B = data;
      S.wrappers = undefined;
    } else if (kind === 'node') {
      S.nodes.set(name, data);
    } else if (kind === 'params') {
      S.meta.parameters = data;
    }
  }

  function dispatch(header, payloads) {
    if (header.op === 'end') {
      S = null;
      return JSON.stringify({ clean: removeSessionGlobals() });
    }
    if (header.session) begin(header.session);
    if (!S) return JSON.stringify({ fatal: { message: 'No active expression session', name: 'Error' } });
    for (const [kind, name, index] of header.load || []) load(kind, name, payloads[index]);
    S.needs.clear();
    let answer;
    if (header.op === 'evaluate') answer = opEvaluate(header);
    else if (header.op === 'runCode') answer = opRunCode(header);
    else answer = opCollect();
    return answer === null || S.needs.size ? JSON.stringify({ need: [...S.needs] }) : answer;
  }

  function call() {
    const request = String(this);
    const parts = request.split('\n');
    try {
      return dispatch(JSON.parse(parts[0]), parts);
    } catch (error) {
      return JSON.stringify({ fatal: describeError(error) });
    }
  }

  // ------------------------------------------------------------------------------- hardening
  function guardArrays() {
    const NativeArray = Array;
    const nativeFrom = Array.from;
    const nativeFill = Array.prototype.fill;
    const tooLong = (length) => new RangeError(
      `Array length ${length} exceeds the sandbox limit of ${MAX_ARRAY_LENGTH} elements`);
    const SafeArray = function Array(...args) {
      if (args.length === 1 && typeof args[0] === 'number' && args[0] > MAX_ARRAY_LENGTH) throw tooLong(args[0]);
      return Reflect.construct(NativeArray, args, new.target || NativeArray);
    };
    Object.defineProperties(SafeArray, {
      prototype: { value: NativeArray.prototype },
      isArray: { value: NativeArray.isArray, writable: true, configurable: true },
      of: { value: NativeArray.of, writable: true, configurable: true },
      from: {
        value: function from(source, ...rest) {
          const length = source === null || source === undefined ? 0 : Number(source.length);
          if (length > MAX_ARRAY_LENGTH) throw tooLong(length);
          return nativeFrom.call(this === SafeArray ? NativeArray : this, source, ...rest);
        },
        writable: true,
        configurable: true,
      },
      [Symbol.species]: { get() { return this; }, configurable: true },
    });
    Object.defineProperty(NativeArray.prototype, 'fill', {
      value: function fill(...args) {
        if (this.length > MAX_ARRAY_LENGTH) throw tooLong(this.length);
        return nativeFill.apply(this, args);
      },
      writable: true,
      configurable: true,
    });
    G.Array = SafeArray;
  }

  // Strings in, code out is the classic sandbox escape: block every way to reach a Function
  // constructor (global `Function`, `eval`, `fn.constructor` on all four function kinds).
  function blockCodeFromStrings() {
    const blocked = () => new EvalError('Code generation from strings is disabled in this sandbox');
    const SafeFunction = function Function() { throw blocked(); };
    Object.defineProperty(SafeFunction, 'prototype', { value: Function.prototype });
    const kinds = [function () {}, async function () {}, function* () {}, async function* () {}];
    for (const kind of kinds) {
      Object.defineProperty(Object.getPrototypeOf(kind), 'constructor', { value: SafeFunction });
    }
    G.Function = SafeFunction;
    G.eval = () => { throw blocked(); };
  }

  // Things that would let code run after our call has returned (and so inside another session),
  // or that talk to the embedder: real timers, finalizers, async waits, WebAssembly.
  function removeHostHooks() {
    for (const name of ['setTimeout', 'clearTimeout', '__timer_manager']) {
      if (hasOwn(G, name)) G[name] = undefined;
    }
    for (const name of ['WebAssembly', 'FinalizationRegistry', 'Realm']) delete G[name];
    delete Atomics.wait;
    delete Atomics.waitAsync;
    // RegExp.$1 and friends keep the last match across sessions.
    for (const key of Object.getOwnPropertyNames(RegExp)) {
      if (/^\$|^(input|lastMatch|lastParen|leftContext|rightContext)$/.test(key)) delete RegExp[key];
    }
  }

  function defineGlobals() {
    for (const [name, get] of Object.entries(SESSION_GLOBALS)) {
      Object.defineProperty(G, name, { get: () => (S ? get() : undefined), enumerable: false, configurable: false });
    }
    for (const [name, value] of Object.entries(CONSTANT_GLOBALS)) {
      Object.defineProperty(G, name, { value, enumerable: false, writable: false, configurable: false });
    }
  }

  // Frozen prototypes make `obj.toString = f` fail (the "override mistake"); for the properties
  // code commonly assigns on its own objects, turn them into accessors that define an own property.
  function allowOverride(proto, key) {
    const desc = Object.getOwnPropertyDescriptor(proto, key);
    if (!desc || !('value' in desc)) return;
    const { value } = desc;
    Object.defineProperty(proto, key, {
      get() { return value; },
      set(newValue) {
        if (this === proto) throw new TypeError(`Cannot assign to read only property '${String(key)}' of object`);
        Object.defineProperty(this, key, { value: newValue, writable: true, enumerable: true, configurable: true });
      },
      enumerable: desc.enumerable,
      configurable: false,
    });
  }

  function allowCommonOverrides() {
    for (const key of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf',
      'propertyIsEnumerable', 'toLocaleString']) allowOverride(Object.prototype, key);
    const errors = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
    for (const E of errors) {
      for (const key of ['name', 'message', 'constructor', 'toString']) allowOverride(E.prototype, key);
    }
    allowOverride(Function.prototype, 'toString');
  }

  // Objects reachable only through instances, never through a global name.
  function hiddenIntrinsics() {
    const protoOf = Object.getPrototypeOf;
    const samples = [
      [][Symbol.iterator](), new Map().entries(), new Set().values(), ''[Symbol.iterator](),
      /x/[Symbol.matchAll](''), (function* () {})(), (async function* () {})(),
      function* () {}, async function () {}, async function* () {},
      DateTime.now().zone, DateTime.now().loc, DateTime.invalid('sample').invalid,
      Duration.invalid('sample').invalid, Interval.invalid('sample').invalid, luxon.FixedOffsetZone.utcInstance,
    ];
    if (typeof Iterator === 'function') {
      samples.push([].values().map((x) => x), Iterator.from({ next: () => ({ done: true }) }));
    }
    return [...samples.map(protoOf), ...samples.map((s) => protoOf(protoOf(s))), Duration.fromMillis(0).matrix];
  }

  function harden(roots) {
    const seen = new Set();
    const stack = [...roots];
    while (stack.length) {
      const value = stack.pop();
      if ((typeof value !== 'object' && typeof value !== 'function') || value === null || seen.has(value)) continue;
      seen.add(value);
      if (value === G) {
        // The global object stays extensible (sloppy Code node code creates implicit globals,
        // removed when the session ends), but every name that exists now is fixed.
        for (const key of Reflect.ownKeys(G)) {
          const desc = Object.getOwnPropertyDescriptor(G, key);
          if ('value' in desc) desc.writable = false;
          desc.configurable = false;
          Object.defineProperty(G, key, desc);
        }
      } else {
        nativeFreeze(value);
      }
      stack.push(Object.getPrototypeOf(value));
      for (const key of Reflect.ownKeys(value)) {
        const desc = Object.getOwnPropertyDescriptor(value, key);
        if (desc && 'value' in desc) stack.push(desc.value);
        else if (desc) stack.push(desc.get, desc.set);
      }
    }
  }

  guardArrays();
  blockCodeFromStrings();
  removeHostHooks();
  defineGlobals();
  allowCommonOverrides();
  harden([G, luxon, jmespath, ...ext.tables, ExpressionError, ext.ExpressionExtensionError, NeedData,
    ...hiddenIntrinsics()]);
  const BASELINE = new Set(Reflect.ownKeys(G));

  return nativeFreeze({ call });
}
