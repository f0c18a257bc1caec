/**
 * RFC 7512 PKCS#11 URIs: `pkcs11:token=pki-root;object=root;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin`.
 * Path attributes (`;`-separated) select the token and the object; query attributes (`&`-separated) say how to reach
 * it (module, PIN). Values are percent-decoded; `id` is raw bytes. Unknown standard attributes are refused (a typo
 * must not silently select another key); vendor attributes (`x-...`) are kept and ignored.
 *
 * `pin-value` is parsed but refused where a URI is used ({@link assertNoPinValue}): a PIN in a URI ends up on argv,
 * in shell history and in the store. The PIN comes from `pin-source` (a `file:` path, or `env:NAME`), pki.yaml,
 * $PKI_PKCS11_PIN or a terminal prompt.
 */
import { PkiError } from '../../errors.js';

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  libraryVersion?: string;
  slotDescription?: string;
  slotManufacturer?: string;
  slotId?: number;
  /** CKA_LABEL of the object. */
  object?: string;
  /** CKA_ID of the object (bytes). */
  id?: Buffer;
  type?: 'private' | 'public' | 'cert' | 'secret-key' | 'data';
  modulePath?: string;
  moduleName?: string;
  pinSource?: string;
  pinValue?: string;
  /** Vendor attributes (`x-...`), kept as written. */
  vendor: Array<[string, string]>;
}

const PATH_ATTRS: Record<string, keyof Pkcs11Uri> = {
  token: 'token',
  manufacturer: 'manufacturer',
  serial: 'serial',
  model: 'model',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
  'library-version': 'libraryVersion',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
  'slot-id': 'slotId',
  object: 'object',
  id: 'id',
  type: 'type',
};
const QUERY_ATTRS: Record<string, keyof Pkcs11Uri> = {
  'module-path': 'modulePath',
  'module-name': 'moduleName',
  'pin-source': 'pinSource',
  'pin-value': 'pinValue',
};
const TYPES = ['private', 'public', 'cert', 'secret-key', 'data'];

function bad(ref: string, flag: string, why: string): PkiError {
  // Never echo a pin-value back.
  const shown = redactPkcs11Uri(ref);
  return new PkiError('USAGE_BAD_PKCS11_URI', `${flag} "${shown}" is not a usable PKCS#11 URI (RFC 7512): ${why}`, {
    details: { flag, ref: shown },
    hint: "e.g. 'pkcs11:token=pki-root;object=root?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pki/pin'",
  });
}

function decode(raw: string, ref: string, flag: string, attr: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw bad(ref, flag, `"${attr}" has a bad percent-escape`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(out);
}

/**
 * Replaces the value of a pin-value (or of any attribute whose name speaks of a PIN, pin-source excepted) in `ref` by
 * "***", wherever it is written: a path attribute (`;pin-value=`), the first one (`pkcs11:pin-value=`) or a query
 * attribute (`?pin-value=`, `&pin-value=`). For messages and error details.
 */
export function redactPkcs11Uri(ref: string): string {
  return ref.replace(/(^pkcs11:|[;?&])([^=;?&]*)=([^;?&]*)/gi, (all, sep: string, name: string) => {
    let n = name;
    try {
      n = decodeURIComponent(name);
    } catch {
      /* keep as written */
    }
    return /pin/i.test(n) && n.toLowerCase() !== 'pin-source' ? `${sep}${name}=***` : all;
  });
}

/** Parses `ref` (a `pkcs11:` URI); `flag` names it in errors (USAGE_BAD_PKCS11_URI, exit 2). */
export function parsePkcs11Uri(ref: string, flag = 'the key reference'): Pkcs11Uri {
  if (!/^pkcs11:/i.test(ref)) throw bad(ref, flag, 'it does not start with "pkcs11:"');
  const body = ref.slice('pkcs11:'.length);
  const q = body.indexOf('?');
  const pathPart = q < 0 ? body : body.slice(0, q);
  const queryPart = q < 0 ? '' : body.slice(q + 1);
  const uri: Pkcs11Uri = { vendor: [] };
  const seen = new Set<string>();
  const take = (part: string, sep: string, table: Record<string, keyof Pkcs11Uri>, where: string) => {
    if (part === '') return;
    for (const item of part.split(sep)) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw bad(ref, flag, `"${item}" in the ${where} is not name=value`);
      const name = item.slice(0, eq).toLowerCase();
      const raw = item.slice(eq + 1);
      if (name.startsWith('x-')) {
        uri.vendor.push([name, decode(raw, ref, flag, name).toString('utf8')]);
        continue;
      }
      // A PIN is refused wherever it is written (a path attribute too), and never echoed.
      if (name === 'pin-value' && where === 'path')
        throw new PkiError('USAGE_PIN_VALUE_REFUSED', `${flag}: pin-value puts the token PIN on the command line (visible in ps and shell history) and in the store`, {
          details: { flag },
          hint: PIN_HINT,
        });
      const key = table[name];
      if (!key) throw bad(ref, flag, `unknown ${where} attribute "${name}" (known: ${Object.keys(table).join(', ')})`);
      if (seen.has(name)) throw bad(ref, flag, `"${name}" is given twice`);
      seen.add(name);
      const bytes = decode(raw, ref, flag, name);
      if (key === 'id') {
        if (!bytes.length) throw bad(ref, flag, '"id" is empty');
        uri.id = bytes;
      } else if (key === 'slotId') {
        const s = bytes.toString('utf8');
        if (!/^\d{1,20}$/.test(s)) throw bad(ref, flag, `"slot-id" must be a decimal number, not "${s}"`);
        uri.slotId = Number(s);
      } else if (key === 'type') {
        const s = bytes.toString('utf8');
        if (!TYPES.includes(s)) throw bad(ref, flag, `"type" must be one of ${TYPES.join(', ')}`);
        uri.type = s as Pkcs11Uri['type'];
      } else {
        const s = bytes.toString('utf8');
        if (s === '' && key !== 'pinValue') throw bad(ref, flag, `"${name}" is empty`);
        (uri as unknown as Record<string, string>)[key] = s;
      }
    }
  };
  take(pathPart, ';', PATH_ATTRS, 'path');
  take(queryPart, '&', QUERY_ATTRS, 'query');
  if (uri.pinSource !== undefined && uri.pinValue !== undefined) throw bad(ref, flag, 'give pin-source or pin-value, not both');
  if (uri.modulePath !== undefined && uri.moduleName !== undefined) throw bad(ref, flag, 'give module-path or module-name, not both');
  if (uri.type !== undefined && uri.type !== 'private') throw bad(ref, flag, `type=${uri.type}: a signing key is type=private`);
  return uri;
}

/** Refuses a PIN written into the URI (USAGE_PIN_VALUE_REFUSED): it would show in `ps`, shell history and the store. */
export function assertNoPinValue(uri: Pkcs11Uri, flag: string): void {
  if (uri.pinValue !== undefined)
    throw new PkiError('USAGE_PIN_VALUE_REFUSED', `${flag}: pin-value puts the token PIN on the command line (visible in ps and shell history) and in the store`, {
      details: { flag },
      hint: PIN_HINT,
    });
}

const PIN_HINT = 'use pin-source=file:/path/to/pin-file (mode 0600) or pin-source=env:NAME, set PKI_PKCS11_PIN, set keys.pkcs11.pinSource in pki.yaml, or let pki prompt on a terminal';

/** RFC 3986 unreserved characters plus those RFC 7512 allows unescaped in an attribute value ("pk11-pchar"). */
const encodeValue = (s: string | Buffer, extra: string): string => {
  const bytes = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && (/[A-Za-z0-9\-._~]/.test(c) || extra.includes(c)) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
};

/** Formats `uri` (canonical attribute order; `id` always percent-encoded bytes; never a pin-value). */
export function formatPkcs11Uri(uri: Pkcs11Uri): string {
  const path: string[] = [];
  const pathVal = (v: string | Buffer) => encodeValue(v, ":[]@!$'()*+,=");
  const add = (name: string, v: string | number | undefined) => {
    if (v !== undefined) path.push(`${name}=${pathVal(String(v))}`);
  };
  add('token', uri.token);
  add('manufacturer', uri.manufacturer);
  add('serial', uri.serial);
  add('model', uri.model);
  add('library-manufacturer', uri.libraryManufacturer);
  add('library-description', uri.libraryDescription);
  add('library-version', uri.libraryVersion);
  add('slot-description', uri.slotDescription);
  add('slot-manufacturer', uri.slotManufacturer);
  add('slot-id', uri.slotId);
  add('object', uri.object);
  if (uri.id) path.push(`id=${[...uri.id].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')}`);
  add('type', uri.type);
  for (const [k, v] of uri.vendor) path.push(`${k}=${pathVal(v)}`);
  const query: string[] = [];
  const queryVal = (v: string) => encodeValue(v, ':[]@!$\'()*+,=/?|');
  if (uri.modulePath !== undefined) query.push(`module-path=${queryVal(uri.modulePath)}`);
  if (uri.moduleName !== undefined) query.push(`module-name=${queryVal(uri.moduleName)}`);
  if (uri.pinSource !== undefined) query.push(`pin-source=${queryVal(uri.pinSource)}`);
  return `pkcs11:${path.join(';')}${query.length ? `?${query.join('&')}` : ''}`;
}

/**
 * A stored key reference as shown (`pki ca list`, `node join`, messages): the token and the key only (token, serial,
 * manufacturer, model, slot-id, object, id, ...), never a module, a PIN source, a PIN or a vendor attribute, which a
 * reference written by an older version may still carry. One that does not parse keeps only its known path
 * attributes, a PIN never among them.
 */
export function shownPkcs11Ref(ref: string): string {
  try {
    const { modulePath: _m, moduleName: _n, pinSource: _s, pinValue: _p, ...rest } = parsePkcs11Uri(ref);
    return formatPkcs11Uri({ ...rest, vendor: [] });
  } catch {
    const body = ref.slice('pkcs11:'.length);
    const q = body.indexOf('?');
    const kept = (q < 0 ? body : body.slice(0, q)).split(';').filter((item) => {
      const eq = item.indexOf('=');
      return eq > 0 && Object.hasOwn(PATH_ATTRS, item.slice(0, eq).toLowerCase());
    });
    return `pkcs11:${kept.join(';')}`;
  }
}
