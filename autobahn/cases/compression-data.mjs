/**
 * Payload data for the compression cases. The suite uses five files (a JSON
 * document, the Lena bitmap, Goethe's Faust, an HTML page, a PDF); they are
 * not vendored here. These deterministic stand-ins have the same kinds of
 * content (structured ASCII text, a smooth 8-bit image, German verse in
 * UTF-8, markup, a PDF with incompressible streams) and the same text/binary
 * split, so the same code paths run; only compression ratios differ.
 * Text sets are ASCII so a slice of N characters is N bytes.
 */

/** mulberry32: a small seeded PRNG, so the data is identical on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua enim minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat'.split(
    ' ',
  );
const SIZE = 320 * 1024;

function words(rand, n) {
  return Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
}

function json() {
  const rand = prng(1);
  const records = [];
  let size = 0;
  for (let i = 0; size < SIZE; i++) {
    const r = {
      id: i,
      guid: Array.from({ length: 4 }, () =>
        Math.floor(rand() * 0xffffffff)
          .toString(16)
          .padStart(8, '0'),
      ).join('-'),
      isActive: rand() < 0.5,
      balance: `$${(rand() * 4000).toFixed(2)}`,
      age: 20 + Math.floor(rand() * 50),
      name: `${words(rand, 1)} ${words(rand, 1)}`,
      email: `${words(rand, 1)}@${words(rand, 1)}.example`,
      about: words(rand, 12 + Math.floor(rand() * 20)),
      latitude: rand() * 180 - 90,
      longitude: rand() * 360 - 180,
      tags: words(rand, 5).split(' '),
      friends: Array.from({ length: 3 }, (_, k) => ({ id: k, name: words(rand, 2) })),
    };
    const s = JSON.stringify(r, null, 2);
    records.push(s);
    size += s.length + 2;
  }
  return Buffer.from(`[\n${records.join(',\n')}\n]\n`, 'latin1');
}

function html() {
  const rand = prng(2);
  const parts = ['<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Report</title></head>\n<body>\n'];
  let size = parts[0].length;
  for (let i = 0; size < SIZE; i++) {
    const s =
      `<div class="row r${i % 7}" id="item-${i}">\n  <h2>${words(rand, 4)}</h2>\n  <p>${words(rand, 30)}</p>\n` +
      `  <table><tr><td>${Math.floor(rand() * 1e6)}</td><td><a href="/item/${i}?q=${words(rand, 1)}">${words(rand, 2)}</a></td></tr></table>\n</div>\n`;
    parts.push(s);
    size += s.length;
  }
  parts.push('</body>\n</html>\n');
  return Buffer.from(parts.join(''), 'latin1');
}

function bitmap() {
  const rand = prng(3);
  const w = 512;
  const header = Buffer.alloc(54 + 1024);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(header.length + w * w, 2);
  header.writeUInt32LE(header.length, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(w, 18);
  header.writeInt32LE(w, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(8, 28);
  for (let i = 0; i < 256; i++) header.writeUInt32LE(i * 0x010101, 54 + i * 4);
  const pixels = Buffer.alloc(w * w);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < w; x++) {
      const v = 128 + 60 * Math.sin(x / 23) * Math.cos(y / 31) + 40 * Math.sin((x + y) / 57) + (rand() - 0.5) * 12;
      pixels[y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return Buffer.concat([header, pixels]);
}

function verse() {
  const rand = prng(4);
  const de =
    'Habe nun ach Philosophie Juristerei und Medizin Und leider auch Theologie Durchaus studiert mit heißem Bemühn Da steh ich nun ich armer Tor Und bin so klug als wie zuvor Heiße Magister heiße Doktor gar Und ziehe schon an die zehen Jahr Herauf herab und quer und krumm Meine Schüler an der Nase herum Und sehe daß wir nichts wissen können Das will mir schier das Herz verbrennen Zwar bin ich gescheiter als all die Laffen Doktoren Magister Schreiber und Pfaffen'.split(
      ' ',
    );
  const lines = [];
  let size = 0;
  while (size < SIZE) {
    const line = Array.from({ length: 5 + Math.floor(rand() * 5) }, () => de[Math.floor(rand() * de.length)]).join(' ');
    lines.push(rand() < 0.1 ? `\nFAUST.\n${line}` : line);
    size += Buffer.byteLength(line) + 1;
  }
  return Buffer.from(lines.join('\n'), 'utf8');
}

function pdf() {
  const rand = prng(5);
  const parts = [Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let size = parts[0].length;
  for (let obj = 1; size < SIZE; obj++) {
    if (obj % 3 === 0) {
      const noise = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256)));
      parts.push(
        Buffer.from(`${obj} 0 obj\n<< /Length ${noise.length} /Filter /FlateDecode >>\nstream\n`, 'latin1'),
        noise,
        Buffer.from('\nendstream\nendobj\n', 'latin1'),
      );
      size += noise.length + 64;
    } else {
      const text = Buffer.from(`${obj} 0 obj\n<< /Type /Page /Parent 2 0 R /Contents (${words(rand, 40)}) >>\nendobj\n`, 'latin1');
      parts.push(text);
      size += text.length;
    }
  }
  parts.push(Buffer.from('trailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1'));
  return Buffer.concat(parts);
}

const cache = new Map();
const makers = { json_data1: json, lena512: bitmap, gutenberg_faust: verse, html_data1: html, ooms: pdf };

/** The data set for a key of the suite's WS_COMPRESSION_TESTDATA, built once. */
export function testData(key) {
  if (!cache.has(key)) cache.set(key, makers[key]());
  return cache.get(key);
}
