// Reads `.env` files the way Docker Compose does for the values this project writes:
// KEY=VALUE lines, `#` comments, single quotes literal, double quotes with \n and \"
// escapes, unquoted values trimmed and cut at ` #`.

export function parseDotEnv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not KEY=VALUE`);
    const key = m[1] as string;
    let value = m[2] as string;
    if (value.startsWith("'")) {
      if (!value.endsWith("'") || value.length < 2) throw new Error(`line ${i + 1}: unclosed quote`);
      value = value.slice(1, -1);
    } else if (value.startsWith('"')) {
      if (!value.endsWith('"') || value.length < 2) throw new Error(`line ${i + 1}: unclosed quote`);
      value = value.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    } else {
      value = value.replace(/\s+#.*$/, '').trim();
    }
    values.set(key, value);
  });
  return values;
}
