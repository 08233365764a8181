// A plain Node.js PKCS#11 JWT issuer: the comparison point of SPEC §9
// ("about 2 x what a Node.js PKCS#11 issuer reaches on the same token").
// It does what a straightforward Node service would do: node:http on a UNIX
// socket, JSON in and out, the JWT built with Buffer base64url, the signature
// made on the token through pkcs11js (synchronous C_Sign, one session per
// process), one process per core through node:cluster.
// With --sessions N, the way a user would build it for a network HSM: N
// sessions per process in a pool, C_SignAsync (libuv's thread pool, its
// default size unless UV_THREADPOOL_SIZE is set), requests waiting for a
// free session.
//
//   node issuer.js --module SO --token LABEL --pin-file F --socket PATH
//        --workers N --es-key LABEL --es-kid KID --rs-key LABEL --rs-kid KID
//        [--sessions N]
'use strict';
const cluster = require('node:cluster');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');

function args() {
	const a = {};
	const v = process.argv.slice(2);
	for (let i = 0; i < v.length; i += 2) {
		if (!v[i].startsWith('--') || i + 1 >= v.length)
			throw new Error(`bad argument ${v[i]}`);
		a[v[i].slice(2)] = v[i + 1];
	}
	for (const k of ['module', 'token', 'pin-file', 'socket', 'workers', 'es-key', 'es-kid',
			 'rs-key', 'rs-kid'])
		if (a[k] === undefined)
			throw new Error(`--${k} is required`);
	return a;
}

const A = args();

if (cluster.isPrimary) {
	// start workers one after the other: SoftHSM rewrites token.object at
	// every C_Login and concurrent logins can fail (STACK-NOTES)
	const n = parseInt(A.workers, 10);
	let up = 0;
	const fork = () => {
		const w = cluster.fork();
		w.on('listening', () => {
			up++;
			if (up < n)
				fork();
			else
				console.log('ready');
		});
		w.on('exit', (code, sig) => {
			if (stopping) {
				if (Object.keys(cluster.workers).length === 0)
					process.exit(0);
				return;
			}
			console.error(`worker exited with ${code ?? sig}`);
			process.exit(1);
		});
	};
	let stopping = false;
	fork();
	// stop: end the workers and wait for them, so that the parent sees
	// their CPU time when it reaps this process
	process.on('SIGTERM', () => {
		stopping = true;
		if (Object.keys(cluster.workers).length === 0)
			process.exit(0);
		for (const id in cluster.workers)
			cluster.workers[id].process.kill('SIGTERM');
	});
} else {
	const pkcs11js = require('pkcs11js');
	const p = new pkcs11js.PKCS11();
	p.load(A.module);
	// the async pool signs from libuv's threads: the module must lock
	p.C_Initialize(A.sessions !== undefined ? {flags: pkcs11js.CKF_OS_LOCKING_OK} : undefined);
	const label = A.token;
	const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === label);
	if (slot === undefined)
		throw new Error(`no token labelled ${label}`);
	const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
	const nsessions = A.sessions !== undefined ? Number(A.sessions) : 0;
	const pin = fs.readFileSync(A['pin-file'], 'utf8').split('\n')[0];
	for (let attempt = 0;; attempt++) {
		try {
			p.C_Login(session, pkcs11js.CKU_USER, pin);
			break;
		} catch (e) {
			if (attempt >= 5 || String(e).includes('PIN'))
				throw e;
		}
	}
	const findKey = (keyLabel) => {
		p.C_FindObjectsInit(session, [
			{type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY},
			{type: pkcs11js.CKA_LABEL, value: keyLabel},
		]);
		const h = p.C_FindObjects(session, 2);
		p.C_FindObjectsFinal(session);
		if (h.length !== 1)
			throw new Error(`${h.length} private keys labelled ${keyLabel}`);
		return h[0];
	};
	const types = {
		AudioVideoAuthentication: {alg: 'ES256', key: findKey(A['es-key']), kid: A['es-kid']},
		OAuthTokenIssuer: {alg: 'RS256', key: findKey(A['rs-key']), kid: A['rs-kid']},
	};
	const sig = Buffer.alloc(512);
	const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	// header.payload of a token for type t and subject sub, issued at now
	const signingInput = (t, sub, now) => b64({alg: t.alg, typ: 'JWT', kid: t.kid}) + '.' + b64({
		iss: 'https://edge.example.net',
		sub: sub,
		aud: 'media-relay',
		iat: now,
		nbf: now,
		exp: now + 3600,
		jti: crypto.randomBytes(16).toString('base64url'),
	});
	const issue = (t, sub) => {
		const now = Math.floor(Date.now() / 1000);
		const input = signingInput(t, sub, now);
		let s;
		if (t.alg === 'ES256') {
			p.C_SignInit(session, {mechanism: pkcs11js.CKM_ECDSA}, t.key);
			const digest = crypto.createHash('sha256').update(input).digest();
			s = p.C_Sign(session, digest, sig);
		} else {
			p.C_SignInit(session, {mechanism: pkcs11js.CKM_SHA256_RSA_PKCS}, t.key);
			s = p.C_Sign(session, Buffer.from(input), sig);
		}
		return {token: input + '.' + s.toString('base64url'), exp: now + 3600};
	};
	// --sessions: a pool of sessions (logged in through the first one)
	const free = [];
	const waiting = [];
	for (let i = 0; i < nsessions; i++)
		free.push(p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
	const withSession = (fn) => {
		if (free.length > 0)
			fn(free.pop());
		else
			waiting.push(fn);
	};
	const release = (s) => {
		if (waiting.length > 0)
			waiting.shift()(s);
		else
			free.push(s);
	};
	const issueAsync = (t, sub, done) => {
		const now = Math.floor(Date.now() / 1000);
		const input = signingInput(t, sub, now);
		withSession((s) => {
			let data;
			try {
				if (t.alg === 'ES256') {
					p.C_SignInit(s, {mechanism: pkcs11js.CKM_ECDSA}, t.key);
					data = crypto.createHash('sha256').update(input).digest();
				} else {
					p.C_SignInit(s, {mechanism: pkcs11js.CKM_SHA256_RSA_PKCS}, t.key);
					data = Buffer.from(input);
				}
			} catch (e) {
				release(s);
				return done(e);
			}
			// both buffers stay referenced until the signature is back:
			// the addon does not keep them alive across the thread pool
			const out = Buffer.alloc(512);
			p.C_SignAsync(s, data, out).then((sg) => {
				void data;
				void out;
				release(s);
				done(null, {token: input + '.' + sg.toString('base64url'), exp: now + 3600});
			}, (e) => {
				release(s);
				done(e);
			});
		});
	};
	const reply = (res, code, obj) => {
		const body = JSON.stringify(obj);
		res.writeHead(code, {
			'Content-Type': 'application/json',
			'Content-Length': Buffer.byteLength(body),
		});
		res.end(body);
	};
	http.createServer((req, res) => {
		if (req.method !== 'POST' || req.url !== '/v1/tokens')
			return reply(res, 404, {error: 'not_found', detail: 'POST /v1/tokens only'});
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			let r;
			try {
				r = JSON.parse(Buffer.concat(chunks).toString('utf8'));
			} catch (e) {
				return reply(res, 400, {error: 'bad_json', detail: String(e)});
			}
			const t = types[r.type];
			if (t === undefined || typeof r.sub !== 'string')
				return reply(res, 400, {error: 'bad_request', detail: 'type and sub'});
			if (nsessions > 0)
				return issueAsync(t, r.sub, (e, o) => e ? reply(res, 503, {error: 'hsm',
					detail: String(e)}) : reply(res, 200, o));
			try {
				reply(res, 200, issue(t, r.sub));
			} catch (e) {
				reply(res, 503, {error: 'hsm', detail: String(e)});
			}
		});
	}).listen(A.socket);
}
