// httpd.js PORT PKI_DIR OPENSSL - CRLs and CA certificates from PKI_DIR/crl, and an
// RFC 3161 TSA at POST /tsa that hands the query to `openssl ts -reply`.
// Loopback only; for tests.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const os = require('os');
const { execFileSync } = require('child_process');

const [port, pki, openssl] = process.argv.slice(2);
const tsaConf = path.join(pki, 'tsa.cnf');
// tsa.cnf and tsaserial are written by mksigs.sh.

http.createServer((req, res) => {
  if (req.method === 'GET') {
    const name = path.basename(req.url);
    const file = path.join(pki, 'crl', name);
    if (!/^[A-Za-z0-9._-]+$/.test(name) || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': name.endsWith('.crl') ? 'application/pkix-crl' : 'application/pkix-cert' });
    res.end(fs.readFileSync(file));
    return;
  }
  if (req.method === 'POST' && req.url === '/tsa') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsa-'));
      try {
        fs.writeFileSync(path.join(dir, 'q.tsq'), Buffer.concat(chunks));
        execFileSync(openssl, ['ts', '-reply', '-config', tsaConf, '-queryfile', path.join(dir, 'q.tsq'),
          '-out', path.join(dir, 'r.tsr')], { stdio: 'ignore' });
        res.writeHead(200, { 'Content-Type': 'application/timestamp-reply' });
        res.end(fs.readFileSync(path.join(dir, 'r.tsr')));
      } catch (e) {
        res.writeHead(500); res.end();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
    return;
  }
  res.writeHead(405); res.end();
}).listen(Number(port), '127.0.0.1');
