// The S3-compatible store of Josi's publish tests: the npm package s3rver,
// with the parts of S3 that publishing relies on and s3rver leaves out:
//  * SigV4 signatures are verified (s3rver accepts any), so a wrong secret
//    gets 403 SignatureDoesNotMatch as on a real store, and every x-amz-*
//    header must be signed;
//  * canned ACLs (x-amz-acl) are kept; anonymous reads need public-read,
//    and GET ?acl reports the grants (s3cmd info shows them);
//  * ListMultipartUploads and AbortMultipartUpload;
//  * UploadPart as S3 does it: a part is stored only when its request body
//    arrived whole (s3rver would keep a cut one, even after an abort), a
//    Content-MD5 that does not match is BadDigest, a signed payload hash
//    (x-amz-content-sha256) that does not match is XAmzContentSHA256Mismatch,
//    an unknown or aborted upload is NoSuchUpload.
// Buckets are addressed by path (127.0.0.1:P/bucket/key) or by virtual host
// (bucket.s3.<service endpoint>/key); a client reaches the latter through
// this server as its HTTP proxy, so no name is ever looked up.
// Every request is logged as a JSON line (method, host, url, status, acl,
// whether it was signed) for the tests to check.
//
// Usage: node s3_test_server.js --dir D --port P --access-key K --secret-key S
//        [--bucket NAME] [--log FILE] [--service-endpoint example.test]
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const required of ['dir', 'port', 'access-key', 'secret-key']) {
  if (!args[required]) {
    console.error(`s3_test_server: --${required} is required`);
    process.exit(2);
  }
}

// Only the test's key pair is valid.
DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
DUMMY_ACCOUNT.createKeyPair(args['access-key'], args['secret-key']);
const secrets = new Map([[args['access-key'], args['secret-key']]]);

const serviceEndpoint = args['service-endpoint'] || 'example.test';
const store = new S3rver({
  directory: args.dir,
  silent: true,
  serviceEndpoint,
  configureBuckets: args.bucket ? [{ name: args.bucket, configs: [] }] : [],
});

const aclFile = path.join(args.dir, 'acl.json');
const acls = fs.existsSync(aclFile) ? JSON.parse(fs.readFileSync(aclFile, 'utf8')) : {};
// Written whole and renamed into place: a test that kills the store mid-request
// restarts it on the same directory, and a half-written file would not parse.
const saveAcls = () => {
  fs.writeFileSync(`${aclFile}.tmp`, JSON.stringify(acls));
  fs.renameSync(`${aclFile}.tmp`, aclFile);
};

function xmlError(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

function xml(res, body) {
  res.writeHead(200, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
}

const escapeXml = s => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const rfc3986 = s => encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// Checks the request's SigV4 signature independently of Josi's signer; returns an error code or null.
function verifySignature(req, rawPath, rawQuery) {
  const auth = req.headers.authorization;
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'AuthorizationHeaderMalformed';
  const [, accessKey, day, region, signedHeaders, signature] = m;
  const secret = secrets.get(accessKey);
  if (secret === undefined) return 'InvalidAccessKeyId';
  const signed = signedHeaders.split(';');
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-amz-') && !signed.includes(name)) return 'AccessDenied';
  }
  if (!signed.includes('host')) return 'AccessDenied';
  const canonicalPath = rawPath.split('/').map(s => rfc3986(decodeURIComponent(s))).join('/');
  const canonicalQuery = rawQuery
    .split('&')
    .filter(p => p.length)
    .map(p => {
      const eq = p.indexOf('=');
      const k = decodeURIComponent(eq < 0 ? p : p.slice(0, eq));
      const v = eq < 0 ? '' : decodeURIComponent(p.slice(eq + 1));
      return [rfc3986(k), rfc3986(v)];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headerLines = signed.map(name => `${name}:${String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, canonicalPath, canonicalQuery, headerLines, signedHeaders,
    req.headers['x-amz-content-sha256']].join('\n');
  const date = req.headers['x-amz-date'] || '';
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, crypto.createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key = hmac('AWS4' + secret, day);
  key = hmac(key, region);
  key = hmac(key, 's3');
  key = hmac(key, 'aws4_request');
  return hmac(key, toSign).toString('hex') === signature ? null : 'SignatureDoesNotMatch';
}

function uploadsDir(bucket) {
  return store.store.getResourcePath(bucket, undefined, 'uploads');
}

function listUploads(bucket, prefix) {
  const dir = uploadsDir(bucket);
  const ids = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  return ids
    .map(id => ({ id, key: fs.readFileSync(path.join(dir, id, 'key'), 'utf8') }))
    .filter(u => u.key.startsWith(prefix || ''));
}

function uploadPart(req, res, dir, number) {
  const live = () => fs.existsSync(path.join(dir, 'key'));
  if (!live()) return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
  if (!(number >= 1 && number <= 10000)) return xmlError(res, 400, 'InvalidArgument', 'Part number must be 1-10000.');
  const temp = path.join(dir, `.${number}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const md5 = crypto.createHash('md5');
  const sha256 = crypto.createHash('sha256');
  const out = fs.createWriteStream(temp);
  let cut = false;
  const discard = () => {
    cut = true;
    out.destroy();
    fs.rmSync(temp, { force: true });
  };
  req.on('aborted', discard);
  req.on('error', discard);
  req.on('data', chunk => {
    md5.update(chunk);
    sha256.update(chunk);
  });
  req.pipe(out);
  out.on('error', discard);
  out.on('finish', () => {
    if (cut || !req.complete) return discard();
    if (!live()) {
      fs.rmSync(temp, { force: true });
      return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    }
    const digest = md5.digest();
    const sent = req.headers['content-md5'];
    if (sent !== undefined && sent !== digest.toString('base64')) {
      fs.rmSync(temp, { force: true });
      return xmlError(res, 400, 'BadDigest', 'The Content-MD5 you specified did not match what was received.');
    }
    const payload = req.headers['x-amz-content-sha256'];
    if (/^[0-9a-f]{64}$/.test(payload || '') && payload !== sha256.digest('hex')) {
      fs.rmSync(temp, { force: true });
      return xmlError(res, 400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
    }
    fs.renameSync(temp, path.join(dir, String(number)));
    fs.writeFileSync(path.join(dir, `${number}.md5`), digest.toString('hex'));
    res.writeHead(200, { ETag: `"${digest.toString('hex')}"` });
    res.end();
  });
}

const handle = store.callback();
let logStream = args.log ? fs.createWriteStream(args.log, { flags: 'a' }) : null;

const virtualHost = new RegExp(`^(.+)\\.s3\\.${serviceEndpoint.replace(/[.]/g, '\\.')}$`);

const server = http.createServer((req, res) => {
  // A request sent to this server as a proxy names the whole URL.
  if (/^http:\/\//.test(req.url)) {
    const absolute = new URL(req.url);
    req.url = absolute.pathname + absolute.search;
  }
  const url = req.url;  // as sent (s3rver rewrites it for virtual hosts)
  const [rawPath, rawQuery = ''] = url.split('?');
  const query = new URLSearchParams(rawQuery);
  const segments = rawPath.split('/').slice(1).map(decodeURIComponent);
  const hosted = virtualHost.exec((req.headers.host || '').replace(/:\d+$/, ''));
  const bucket = hosted ? hosted[1] : segments[0];
  const key = (hosted ? segments : segments.slice(1)).join('/');
  const signedRequest = 'authorization' in req.headers;
  const acl = req.headers['x-amz-acl'];
  res.on('finish', () => {
    if (logStream) {
      logStream.write(JSON.stringify({ method: req.method, host: req.headers.host, url, status: res.statusCode,
        acl: acl || null, signed: signedRequest }) + '\n');
    }
  });

  if (signedRequest) {
    const problem = verifySignature(req, rawPath, rawQuery);
    if (problem === 'InvalidAccessKeyId') return xmlError(res, 403, problem, 'The access key does not exist.');
    if (problem) return xmlError(res, 403, problem, 'The request signature we calculated does not match the signature you provided.');
  } else if (!['GET', 'HEAD'].includes(req.method) || !key || query.has('acl') || acls[`${bucket}/${key}`] !== 'public-read') {
    return xmlError(res, 403, 'AccessDenied', 'Access Denied');
  }

  if (req.method === 'GET' && key === '' && query.has('uploads')) {
    const uploads = listUploads(bucket, query.get('prefix'))
      .map(u => `<Upload><Key>${escapeXml(u.key)}</Key><UploadId>${u.id}</UploadId></Upload>`)
      .join('');
    return xml(res, `<ListMultipartUploadsResult><Bucket>${bucket}</Bucket>${uploads}</ListMultipartUploadsResult>`);
  }
  if (req.method === 'DELETE' && key && query.has('uploadId')) {
    const dir = path.join(uploadsDir(bucket), path.basename(query.get('uploadId')));
    if (!fs.existsSync(dir)) return xmlError(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
    fs.rmSync(dir, { recursive: true, force: true });
    res.writeHead(204);
    return res.end();
  }
  if (req.method === 'PUT' && key && query.has('uploadId') && query.has('partNumber')) {
    return uploadPart(req, res, path.join(uploadsDir(bucket), path.basename(query.get('uploadId'))),
      Number(query.get('partNumber')));
  }
  if (req.method === 'GET' && key && query.has('acl')) {
    const owner = `<Owner><ID>${DUMMY_ACCOUNT.id}</ID><DisplayName>${DUMMY_ACCOUNT.displayName}</DisplayName></Owner>`;
    let grants = `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">` +
      `<ID>${DUMMY_ACCOUNT.id}</ID><DisplayName>${DUMMY_ACCOUNT.displayName}</DisplayName></Grantee>` +
      `<Permission>FULL_CONTROL</Permission></Grant>`;
    if (acls[`${bucket}/${key}`] === 'public-read') {
      grants += `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">` +
        `<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>`;
    }
    return xml(res, `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${owner}` +
      `<AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`);
  }
  // A new object (or the start of a multipart upload) gets its canned ACL, private by default.
  const createsObject = key && ((req.method === 'PUT' && !query.has('uploadId') && !query.has('acl') &&
    !query.has('tagging')) || (req.method === 'POST' && query.has('uploads')));
  if (createsObject) {
    res.on('finish', () => {
      if (res.statusCode < 300) {
        acls[`${bucket}/${key}`] = acl || 'private';
        saveAcls();
      }
    });
  }
  return handle(req, res);
});

store.configureBuckets().then(() =>
  server.listen(Number(args.port), '127.0.0.1', () => {
    console.log(`s3_test_server listening on 127.0.0.1:${server.address().port}`);
  }));
