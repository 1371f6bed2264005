// Rewrites extension calls in an expression the way n8n does (`x.sum()` -> `extend(x, "sum", [])`),
// splicing the source text at acorn's node positions so everything else stays byte-for-byte.
function createTransform({ acorn, names, extendName, extendOptionalName }) {

  const escaped = [...names].map((n) => n.replace(/[$]/g, '\\$')).join('|');
  const MAYBE_EXTENSION = new RegExp(`\\.\\s*(?:${escaped})\\s*(?:\\?\\.)?\\s*\\(`);

  const isTarget = (node) => node.type === 'CallExpression'
    && node.callee.type === 'MemberExpression'
    && !node.callee.computed
    && node.callee.property.type === 'Identifier'
    && names.has(node.callee.property.name);

  function collectTargets(node, out) {
    if (!node || typeof node.type !== 'string') return;
    if (isTarget(node)) out.push(node);
    for (const key of Object.keys(node)) {
      const child = node[key];
      if (Array.isArray(child)) child.forEach((c) => collectTargets(c, out));
      else if (child && typeof child.type === 'string') collectTargets(child, out);
    }
  }

  function transform(source) {
    if (!MAYBE_EXTENSION.test(source)) return source;
    let root;
    try {
      root = acorn.parse(source, { ecmaVersion: 'latest' });
    } catch {
      return source; // let V8 report the syntax error with its own message
    }
    const targets = [];
    collectTargets(root, targets);
    targets.sort((a, b) => a.start - b.start || b.end - a.end);

    // Source of [start, end) with every outermost target call inside it rewritten.
    function render(start, end) {
      let out = '';
      let at = start;
      for (const call of targets) {
        if (call.start < at || call.end > end) continue;
        out += source.slice(at, call.start) + renderCall(call);
        at = call.end;
      }
      return out + source.slice(at, end);
    }

    function renderCall(call) {
      const { object, property, optional } = call.callee;
      const receiver = render(object.start, object.end);
      const args = call.arguments.length
        ? render(call.arguments[0].start, call.arguments[call.arguments.length - 1].end)
        : '';
      if (optional) return `${extendOptionalName}(${receiver}, "${property.name}")?.(${args})`;
      return `${extendName}(${receiver}, "${property.name}", [${args}])`;
    }

    return render(0, source.length);
  }

  return transform;
}
