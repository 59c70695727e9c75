// Parses PowerShell sources with tree-sitter-powershell and prints, per source, the syntax errors and every command
// invocation with its named parameters. Input (stdin): JSON [{ "name": "...", "text": "..." }]. Output (stdout): JSON.
import Parser from 'tree-sitter';
import PowerShell from 'tree-sitter-powershell';

const parser = new Parser();
parser.setLanguage(PowerShell);

const input = JSON.parse(await new Promise((resolve) => {
  let data = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (c) => { data += c; });
  process.stdin.on('end', () => resolve(data));
}));

function walk(node, visit) {
  visit(node);
  for (let i = 0; i < node.childCount; i++) walk(node.child(i), visit);
}

const results = input.map(({ name, text }) => {
  // tree-sitter's node binding reads large inputs through a callback in chunks.
  const tree = parser.parse((index) => text.slice(index, index + 4096));
  const errors = [];
  const commands = [];
  const functions = [];
  walk(tree.rootNode, (n) => {
    if (n.type === 'ERROR' || n.isMissing) {
      errors.push({ line: n.startPosition.row + 1, column: n.startPosition.column + 1, text: n.text.slice(0, 80) });
    }
    if (n.type === 'function_statement') {
      const fn = n.namedChildren.find((c) => c.type === 'function_name');
      if (fn) functions.push(fn.text);
    }
    if (n.type === 'command') {
      const nameNode = n.childForFieldName('command_name');
      if (!nameNode) return;
      const elements = n.childForFieldName('command_elements');
      const parameters = [];
      let splat = false;
      if (elements) {
        for (let i = 0; i < elements.namedChildCount; i++) {
          const e = elements.namedChild(i);
          if (e.type === 'command_parameter') parameters.push(e.text.replace(/^-/, '').replace(/:.*$/s, ''));
          if (e.text.startsWith('@') && !e.text.startsWith('@(') && !e.text.startsWith('@{')) splat = true;
        }
      }
      commands.push({ name: nameNode.text, line: n.startPosition.row + 1, column: n.startPosition.column + 1, parameters, splat });
    }
  });
  return { name, errors, commands, functions };
});
process.stdout.write(JSON.stringify(results));
