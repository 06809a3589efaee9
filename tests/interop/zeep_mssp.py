#!/usr/bin/python3
"""zeep_mssp.py - the simulator's MSSP (ETSI TS 102 204, vGCA profile) checked
by a SOAP client nobody here wrote: python3-zeep, driven by the Government
CA's WSDL as the repository holds it (docs/vgca/MSS_SignaturePort.wsdl,
loaded unchanged).

    /usr/bin/python3 zeep_mssp.py SIMPKI_SIM DEMO_DIR REPO_ROOT

Builds the demo PKI with tests/sim/mkdemo.sh into DEMO_DIR (cheap once it
exists), starts simpki-sim on ephemeral ports, then over TLS with the AP's
client certificate: MSS_Signature synch (RSA and EC, each signature checked
with the openssl command line against the subscriber's certificate),
asynchClientServer + MSS_StatusQuery, MSS_Receipt, MSS_Registration,
MSS_ProfileQuery, MSS_Format PKCS7 (openssl cms -verify), a cancel, a wrong
AP_PWD, a repeated AP_TransID (one prompt), and a handshake without a client
certificate (refused).  Then, with plain requests on the same TLS session,
every behaviour's ETSI form (tests/sim/README.md), the answer's rpc shape on
the wire, requests the simulator must refuse, and 300 mutated requests it
must survive; SIGTERM must end it with exit 0 (leak-free under ASan).
docs/vgca/ must be byte-identical to shared/specs/vgca/ where that exists.

Debian's /usr/bin/python3 with python3-zeep (tests/run.sh installs it).
"""
import base64
import hashlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

import requests
import zeep
from lxml import etree
from zeep.exceptions import Fault
from zeep.transports import Transport

TNS = "{http://ae.mobile-id.vn/TS102204/etsi204}"
ETSI = "http://uri.etsi.org/TS102204/v1.1.2#"
PKCS1 = ETSI + "PKCS1"
PKCS7 = ETSI + "PKCS7"  # a CMS SignedData (the URI public ETSI 204 clients send)
PROFILE = "http://mobile-id.vn/digitalSignature"
SIGNING_CERT = "http://mobile-id.vn/MSSP/v1.0.0#signingCertificate"
VALIDATION = "http://mobile-id.vn/MSSP/v1.0.0#signatureValidation"
OPENSSL = os.environ.get("OPENSSL", "openssl")
JQ = os.environ.get("JQ", "jq")

# The WSDL imports the xml: namespace without a schemaLocation and zeep then
# fetches https://www.w3.org/2001/xml.xsd; tests run offline, so the
# transport answers that one URL with the attributes the WSDL uses.
XML_XSD = b"""<?xml version='1.0'?>
<xs:schema targetNamespace="http://www.w3.org/XML/1998/namespace" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:attribute name="lang" type="xs:language"/><xs:attribute name="space" type="xs:NCName"/>
  <xs:attribute name="base" type="xs:anyURI"/><xs:attribute name="id" type="xs:ID"/>
</xs:schema>"""

passed = 0
failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + str(detail) if detail else ""), file=sys.stderr)


class OfflineTransport(Transport):
    def load(self, url):
        if url.endswith("www.w3.org/2001/xml.xsd"):
            return XML_XSD
        return super().load(url)


def wsdl_copy_check(root):
    """docs/vgca/ is a verbatim copy of the shared spec, wherever that is beside the checkout."""
    copy = os.path.join(root, "docs/vgca/MSS_SignaturePort.wsdl")
    spots = [os.path.join(root, "..", "shared")]
    try:  # a worktree: the main checkout's sibling too
        common = subprocess.run(["git", "-C", root, "rev-parse", "--path-format=absolute", "--git-common-dir"],
                                capture_output=True, text=True, check=True).stdout.strip()
        spots.append(os.path.join(os.path.dirname(common), "..", "shared"))
    except (OSError, subprocess.CalledProcessError):
        pass
    for s in spots:
        for name in ("MSS_SignaturePort.wsdl", "README.md"):
            orig = os.path.join(s, "specs/vgca", name)
            if os.path.exists(orig):
                with open(orig, "rb") as a, open(os.path.join(root, "docs/vgca", name), "rb") as b:
                    check("docs/vgca/%s is byte-identical to %s" % (name, os.path.normpath(orig)),
                          a.read() == b.read())
    return copy


def start_sim(sim, demo, root):
    subprocess.run(["bash", os.path.join(root, "tests/sim/mkdemo.sh"), demo], check=True, stdout=subprocess.DEVNULL)
    scen = os.path.join(demo, "scenario-zeep.json")
    with open(scen, "w") as f:
        # Two confirm numbers of the default scenario take the behaviours it leaves out (README).
        subprocess.run([JQ, ".carriers |= map(.port = 0) | .mssp.port = 0 | .defaults.delay_ms = 300 "
                        "| .subscribers |= map(if .msisdn == \"84900000001\" then .behaviour = \"lost_resp\" | .delay_ms = 300 "
                        "elif .msisdn == \"84900000002\" then .behaviour = \"hold_first\" else . end)",
                        os.path.join(demo, "scenario.json")], stdout=f, check=True)
    log = open(os.path.join(demo, "sim-zeep.log"), "w+")
    proc = subprocess.Popen([sim, "--scenario", scen, "--log-level", "debug"], stderr=log)
    for _ in range(200):  # a start-up wait, not an assertion
        log.seek(0)
        for line in log:
            if line.startswith("simpki-sim ready"):
                port = [w.split("=")[1] for w in line.split() if w.startswith("mssp=")]
                return proc, log, int(port[0])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    sys.exit("simpki-sim did not get ready:\n" + log.read())


def digest_info(msg):
    """DER DigestInfo of SHA-256(msg): SEQUENCE { AlgorithmIdentifier sha256 NULL, OCTET STRING }."""
    return bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(msg).digest()


def openssl_verifies(cert_pem, msg, sig, tmp):
    """The openssl command line's own verdict: dgst -sha256 -verify (PKCS#1 v1.5 or ECDSA)."""
    paths = {n: os.path.join(tmp, n) for n in ("pub.pem", "msg", "sig")}
    subprocess.run([OPENSSL, "x509", "-in", cert_pem, "-pubkey", "-noout", "-out", paths["pub.pem"]], check=True)
    with open(paths["msg"], "wb") as f:
        f.write(msg)
    with open(paths["sig"], "wb") as f:
        f.write(sig)
    r = subprocess.run([OPENSSL, "dgst", "-sha256", "-verify", paths["pub.pem"], "-signature", paths["sig"],
                        paths["msg"]], capture_output=True, text=True)
    return r.returncode == 0 and "Verified OK" in r.stdout


class Client:
    def __init__(self, wsdl, port, pki, pwd="ap-test"):
        self.session = requests.Session()
        # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override session.verify: the test CA only.
        self.session.trust_env = False
        self.session.cert = (os.path.join(pki, "mssp/ap.crt.pem"), os.path.join(pki, "mssp/ap.key.pem"))
        self.session.verify = os.path.join(pki, "mssp/ca.pem")
        self.client = zeep.Client(wsdl, transport=OfflineTransport(session=self.session))
        self.base = "https://127.0.0.1:%d/soap/services/" % port
        self.pwd = pwd
        self.svc = {}
        for op, binding, path in (("sig", "MSS_SignatureBinding", "MSS_SignaturePort"),
                                  ("status", "MSS_StatusQueryBinding", "MSS_StatusQueryPort"),
                                  ("receipt", "MSS_ReceiptBinding", "MSS_ReceiptPort"),
                                  ("profile", "MSS_ProfileQueryBinding", "MSS_ProfileQueryPort"),
                                  ("reg", "MSS_RegistrationBinding", "MSS_RegistrationPort")):
            self.svc[op] = self.client.create_service(TNS + binding, self.base + path)

    def common(self, trans_id=None):
        return {"MajorVersion": 1, "MinorVersion": 1,
                "AP_Info": {"AP_ID": "http://ap.simpki.test", "AP_PWD": self.pwd,
                            "AP_TransID": trans_id or ("T" + uuid.uuid4().hex),
                            "Instant": datetime.now(timezone.utc).replace(microsecond=0)},
                "MSSP_Info": {"MSSP_ID": {"URI": "http://hmssp.mobile-id.vn"}}}

    def sign(self, msisdn, msg, mode="synch", trans_id=None, fmt=PKCS1):
        req = self.common(trans_id)
        req.update({"MessagingMode": mode, "TimeOut": 60, "MobileUser": {"MSISDN": msisdn},
                    "DataToBeSigned": {"_value_1": base64.b64encode(digest_info(msg)).decode(),
                                       "MimeType": "application/octet-stream", "Encoding": "base64"},
                    "DataToBeDisplayed": {"_value_1": "Ký văn bản số 12/QĐ", "MimeType": "text/plain"},
                    "MSS_Format": {"mssURI": fmt}, "SignatureProfile": {"mssURI": PROFILE},
                    "AdditionalServices": {"Service": [{"Description": {"mssURI": SIGNING_CERT}},
                                                       {"Description": {"mssURI": VALIDATION}}]}})
        return self.svc["sig"].MSS_Signature(MSS_SignatureReq=req)

    def status(self, mssp_trans_id):
        req = self.common()
        req["MSSP_TransID"] = mssp_trans_id
        return self.svc["status"].MSS_StatusQuery(MSS_StatusReq=req)


def status_code(resp):
    return int(resp.Status.StatusCode.Value)


def signing_cert(resp):
    """The certificate the signingCertificate service returned (sim_mssp_xml.h says where)."""
    for sr in resp.Status.StatusDetail._value_1[0]["ServiceResponses"].ServiceResponse:
        if sr.Description.mssURI == SIGNING_CERT:
            return base64.b64decode([d.value for d in sr.SubscriberInfo.Detail if d.id == "X509Certificate"][0])
    return None


def cms_verifies(msg, cms, tmp):
    """openssl cms -verify of a detached SignedData over msg (the signature only: -noverify skips the chain)."""
    paths = {n: os.path.join(tmp, n) for n in ("msg", "cms")}
    with open(paths["msg"], "wb") as f:
        f.write(msg)
    with open(paths["cms"], "wb") as f:
        f.write(cms)
    r = subprocess.run([OPENSSL, "cms", "-verify", "-binary", "-noverify", "-inform", "DER", "-in", paths["cms"],
                        "-content", paths["msg"], "-out", os.devnull], capture_output=True, text=True)
    return r.returncode == 0 and "Verification successful" in r.stderr


def der_of(pem, tmp):
    out = os.path.join(tmp, "c.der")
    subprocess.run([OPENSSL, "x509", "-in", pem, "-outform", "DER", "-out", out], check=True)
    with open(out, "rb") as f:
        return f.read()


def fault_code(call):
    try:
        call()
    except Fault as e:
        return e.code, [(q.namespace, q.localname) for q in (e.subcodes or [])], e.message
    return None


def raw(c, msisdn, msg=b"raw", trans_id=None, mode="synch", timeout_s=60):
    """The envelope zeep would send for an MSS_Signature, as bytes, for requests zeep cannot make."""
    req = c.common(trans_id)
    req.update({"MessagingMode": mode, "TimeOut": timeout_s, "MobileUser": {"MSISDN": msisdn},
                "DataToBeSigned": {"_value_1": base64.b64encode(digest_info(msg)).decode(), "Encoding": "base64"},
                "DataToBeDisplayed": {"_value_1": "raw", "MimeType": "text/plain"},
                "AdditionalServices": {"Service": [{"Description": {"mssURI": SIGNING_CERT}}]}})
    return etree.tostring(c.client.create_message(c.svc["sig"], "MSS_Signature", MSS_SignatureReq=req))


def post(c, body, ctype="application/soap+xml; charset=utf-8", port="MSS_SignaturePort", **kw):
    return c.session.post(c.base + port, data=body, headers={"Content-Type": ctype}, **kw)


def subcode(resp):
    """The mss:_NNN subcode of a fault answer, read with lxml (no DTD, no network)."""
    doc = etree.fromstring(resp.content, etree.XMLParser(resolve_entities=False, no_network=True))
    v = doc.findtext(".//{http://www.w3.org/2003/05/soap-envelope}Subcode/{http://www.w3.org/2003/05/soap-envelope}Value")
    return v


def hostile(c, pki, port, tmp):
    """The behaviours a gateway must survive, and requests the simulator must survive."""
    # The rpc/literal shape on the wire, which zeep is lenient about: wrapper and part unqualified.
    r = post(c, raw(c, "84960000001"))
    body = etree.fromstring(r.content).find("{http://www.w3.org/2003/05/soap-envelope}Body")
    check("the answer's wrapper and part are unqualified, their children in the ETSI namespace",
          body[0].tag == "MSS_SignatureResponse" and body[0][0].tag == "MSS_SignatureResp"
          and body[0][0][0].tag == "{%s}AP_Info" % ETSI, [body[0].tag, body[0][0].tag, body[0][0][0].tag])
    for msisdn, want in (("84960000031", "_402"), ("84960000041", "_403"), ("84960000051", "_404"),
                         ("84960000061", "_208"), ("84960000071", "_209")):
        r = post(c, raw(c, msisdn))
        check("%s (%s over ETSI): fault mss:%s" % (msisdn, msisdn[-3:-1], want), subcode(r) == "mss:" + want,
              r.text[:200])
    r = c.sign("84960000081", b"wrong key")
    check("wrong_key: 502, but the signature does not verify with the subscriber's certificate",
          status_code(r) == 502 and not openssl_verifies(os.path.join(pki, "subs/84960000081.crt.pem"), b"wrong key",
                                                          r.MSS_Signature.Base64Signature, tmp))
    r = post(c, raw(c, "84960000221"))
    check("soap_fault: HTTP 500 with the scenario's code (406)", r.status_code == 500 and subcode(r) == "mss:_406",
          (r.status_code, r.text[:200]))
    r = post(c, raw(c, "84960000231"))
    check("http_500: HTTP 500, an HTML body", r.status_code == 500 and r.headers["Content-Type"].startswith("text/html"))
    r = post(c, raw(c, "84960000271"))
    try:
        etree.fromstring(r.content)
        wellformed = True
    except etree.XMLSyntaxError:
        wellformed = False
    check("malformed_xml: HTTP 200, not well-formed", r.status_code == 200 and not wellformed)
    r = post(c, raw(c, "84960000261"))
    check("billion_laughs: HTTP 200 with the entity bomb", r.status_code == 200 and b"<!ENTITY lol9" in r.content)

    msg = b"forged"
    r = c.sign("84960000281", msg)
    check("forged_502: 502 VALID_SIGNATURE with a signature that does not verify",
          status_code(r) == 502 and not openssl_verifies(os.path.join(pki, "subs/84960000281.crt.pem"), msg,
                                                          r.MSS_Signature.Base64Signature, tmp))
    r = c.sign("84960000291", msg)
    other = os.path.join(tmp, "other.pem")
    with open(other, "w") as f:
        f.write(ssl_pem(signing_cert(r)))
    check("other_cert: the signature verifies with the certificate returned",
          openssl_verifies(other, msg, r.MSS_Signature.Base64Signature, tmp))
    check("other_cert: which is not the subscriber's registered one",
          signing_cert(r) != der_of(os.path.join(pki, "subs/84960000291.crt.pem"), tmp))
    r = c.sign("84960000131", msg)  # hostile: other prefixes, a Header, comments
    check("hostile: an unusual but valid answer zeep reads, signature good",
          status_code(r) == 502 and openssl_verifies(os.path.join(pki, "subs/84960000131.crt.pem"), msg,
                                                     r.MSS_Signature.Base64Signature, tmp))
    r = c.sign("84960000141", msg)  # segments_shuffled: chunked in 7-octet pieces
    check("segments_shuffled: a chunked answer zeep reads", status_code(r) == 502)

    def closed(body):
        try:
            post(c, body, timeout=30)
        except requests.exceptions.ConnectionError:
            return True
        return False
    check("dead_socket: the connection closes without an answer", closed(raw(c, "84960000301")))
    check("dead_socket: every time", closed(raw(c, "84960000301")))
    tid = "T" + uuid.uuid4().hex
    check("drop_first: the first request's connection closes unanswered", closed(raw(c, "84960000091", trans_id=tid)))
    r = post(c, raw(c, "84960000091", trans_id=tid))
    check("drop_first: the retry signs", r.status_code == 200 and b'Value="500"' in r.content, r.status_code)
    r = post(c, raw(c, "84960000101"))
    check("throttle_first: HTTP 503 first", r.status_code == 503)
    r = post(c, raw(c, "84960000101"))
    check("throttle_first: then a signature", r.status_code == 200)
    r = post(c, raw(c, "84960000111"))
    check("permanent_error: fault 105 UNKNOWN_CLIENT", subcode(r) == "mss:_105")
    r = post(c, raw(c, "84960000021", timeout_s=1))
    check("no_answer, synch: held until the request's TimeOut, then fault 208", subcode(r) == "mss:_208")

    # huge_body: 100 MB streamed; read it all in pieces (never held here either).
    n = 0
    with post(c, raw(c, "84960000251"), stream=True) as r:
        for piece in r.iter_content(1 << 20):
            n += len(piece)
    check("huge_body: over 100 MB streamed", n > 100 * 1024 * 1024, n)
    # slow_drip: the first octets come, the client gives up; the simulator must let go.
    with post(c, raw(c, "84960000241"), stream=True) as r:
        first = r.raw.read(5)
        check("slow_drip: HTTP 200 with a Content-Length, octets dripping",
              r.status_code == 200 and int(r.headers["Content-Length"]) > 1000 and first == b"<?xml")
    # A client that gives up on a held synch request (slow: 5 s).
    try:
        post(c, raw(c, "84960000161"), timeout=0.3)
    except requests.exceptions.RequestException:
        pass

    # Requests the simulator must refuse, and survive.
    good = raw(c, "84960000001")
    fresh = lambda body: body.replace(re.search(rb'AP_TransID="([^"]+)"', good).group(1),  # noqa: E731
                                      ("T" + uuid.uuid4().hex).encode())
    # An entity that would expand to a good number: refused for the DOCTYPE, not for what it expands to.
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY n "8496000000">]>'
            + good[good.index(b"<soap-env:Envelope"):].replace(b"84960000001", b"&n;1"))
    cases = [
        ("a DOCTYPE in the request: fault 101", bomb, "mss:_101"),
        ("not XML: fault 101", b"\x00\xff<<<garbage", "mss:_101"),
        ("no DataToBeSigned: fault 102", re.sub(rb"<ns\d:DataToBeSigned[^>]*>[^<]*</ns\d:DataToBeSigned>", b"", good),
         "mss:_102"),
        ("DataToBeSigned not a DigestInfo: fault 101",
         re.sub(rb"(<ns\d:DataToBeSigned[^>]*>)[^<]*", rb"\1aGVsbG8gd29ybGQ=", good), "mss:_101"),
        ("a DigestInfo with a short digest: fault 103",
         re.sub(rb"(<ns\d:DataToBeSigned[^>]*>)[^<]*",
                b"\\1" + base64.b64encode(bytes.fromhex("3030300d06096086480165030402010500041f") + b"\1" * 31),
                good), "mss:_103"),
        ("a SOAP 1.1 envelope: fault 101", good.replace(b"http://www.w3.org/2003/05/soap-envelope",
                                                        b"http://schemas.xmlsoap.org/soap/envelope/"), "mss:_101"),
    ]
    for what, body, want in cases:
        r = post(c, fresh(body))  # each its own AP_TransID: none may be taken for a repeat of another
        got = subcode(r) if r.headers.get("Content-Type", "").startswith("application/soap+xml") else r.status_code
        check(what, got == want, (r.status_code, r.text[:300]))
    check("text/xml (SOAP 1.1's type): HTTP 415", post(c, good, ctype="text/xml").status_code == 415)
    try:  # evhttp answers 413 from the Content-Length and closes: the client may still be sending
        big = post(c, b"<" * (1 << 20)).status_code
    except requests.exceptions.ConnectionError:
        big = "closed"
    check("a 1 MB request: HTTP 413 (or closed before it was all sent)", big in (413, "closed"), big)
    check("an unknown port: HTTP 404", post(c, good, port="MSS_NoSuchPort").status_code == 404)
    tid = "T" + uuid.uuid4().hex
    check("lost_resp: the first request's connection closes unanswered",
          closed(raw(c, "84900000001", trans_id=tid)))
    r = post(c, raw(c, "84900000001", trans_id=tid))
    check("lost_resp: the retry (same AP_TransID) gets the signature", b'Value="500"' in r.content, r.text[:200])
    r = c.session.get("https://127.0.0.1:%d/sim/prompts/84900000001" % port)
    check("lost_resp: the card prompted once", r.json() == {"etsi": 1}, r.text)
    try:
        post(c, raw(c, "84900000002"), timeout=1)
        held = False
    except requests.exceptions.ReadTimeout:
        held = True
    r = c.session.get("https://127.0.0.1:%d/sim/prompts/84900000002" % port)
    check("hold_first: the first request is held (no answer, the card not reached)",
          held and r.json() == {"etsi": 0}, (held, r.text))
    r = post(c, raw(c, "84900000002"))
    check("hold_first: a later one is", r.status_code == 200)
    # Mutated requests (a fixed seed: the same 300 every run): each answered, the simulator standing.
    rnd = random.Random(204)
    # asynchClientServer: a request that survives mutation is answered at once, not after the card's delay.
    seeds = [raw(c, "84960000001", mode="asynchClientServer"), raw(c, "84960000002", mode="asynchClientServer"),
             fresh(good).replace(b"MSS_Signature", b"MSS_StatusQuery")]
    answered = 0
    for _ in range(300):
        b = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 8)):
            if len(b) < 2:
                break
            op, i = rnd.randrange(4), rnd.randrange(len(b))
            if op == 0:
                b[i] = rnd.randrange(256)
            elif op == 1:
                del b[i:i + rnd.randint(1, 40)]
            elif op == 2:
                b[i:i] = b[rnd.randrange(len(b)):][:rnd.randint(1, 40)]
            else:
                b = b[:i]
        try:
            answered += post(c, fresh(bytes(b)), timeout=30).status_code in (200, 500)
        except requests.exceptions.RequestException as e:
            print("     (mutated request: %s)" % type(e).__name__)
    check("300 mutated requests: each answered with 200 or a fault", answered == 300, answered)
    r = c.session.get("https://127.0.0.1:%d/sim/prompts/84960000091" % port)
    check("still serving after all that; drop_first prompted once", r.json() == {"etsi": 1}, r.text)


def ssl_pem(der):
    return "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der).decode() + "-----END CERTIFICATE-----\n"


def main():
    sim, demo, root = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    wsdl = wsdl_copy_check(root)
    proc, log, port = start_sim(sim, demo, root)
    pki = os.path.join(demo, "pki")
    tmp = tempfile.mkdtemp(prefix="zeep-mssp.")
    try:
        c = Client(wsdl, port, pki)
        for msisdn, kind in (("84960000001", "RSA"), ("84960000002", "EC")):
            msg = ("văn bản %s %s" % (kind, uuid.uuid4())).encode()
            r = c.sign(msisdn, msg)
            check("%s synch: 502 VALID_SIGNATURE" % kind, status_code(r) == 502, status_code(r))
            check("%s synch: MSSP_TransID and the MSISDN echoed" % kind,
                  bool(r.MSSP_TransID) and r.MobileUser.MSISDN == msisdn)
            crt = os.path.join(pki, "subs/%s.crt.pem" % msisdn)
            check("%s synch: openssl verifies the signature with the subscriber's certificate" % kind,
                  openssl_verifies(crt, msg, r.MSS_Signature.Base64Signature, tmp))
            check("%s synch: openssl refuses it for another message" % kind,
                  not openssl_verifies(crt, msg + b"!", r.MSS_Signature.Base64Signature, tmp))
            check("%s synch: signingCertificate is the subscriber's" % kind, signing_cert(r) == der_of(crt, tmp))
            check("%s synch: MSS_Format PKCS1" % kind, r.MSS_Format.mssURI == PKCS1)

            r = c.sign(msisdn, msg, fmt=PKCS7)
            check("%s synch, MSS_Format PKCS7: a detached CMS SignedData openssl cms verifies" % kind,
                  r.MSS_Format.mssURI == PKCS7 and cms_verifies(msg, r.MSS_Signature.Base64Signature, tmp))
            check("%s synch, MSS_Format PKCS7: not for another message" % kind,
                  not cms_verifies(msg + b"!", r.MSS_Signature.Base64Signature, tmp))

        msg = b"asynch"
        r = c.sign("84960000001", msg, mode="asynchClientServer")
        check("asynch: 100 REQUEST_OK at once, with an MSSP_TransID",
              status_code(r) == 100 and bool(r.MSSP_TransID) and r.MSS_Signature is None)
        seen = []
        for _ in range(200):  # the card answers after delay_ms (300 ms); poll, not a timed assertion
            s = c.status(r.MSSP_TransID)
            seen.append(status_code(s))
            if seen[-1] != 504:
                break
            time.sleep(0.05)
        check("asynch: MSS_StatusQuery 504 until the card answered, then 502 (validation asked)",
              seen[-1] == 502 and set(seen[:-1]) <= {504}, seen)
        check("asynch: the final status carries a signature openssl verifies",
              openssl_verifies(os.path.join(pki, "subs/84960000001.crt.pem"), msg, s.MSS_Signature.Base64Signature,
                               tmp))
        rr = c.sign("84960000021", b"never", mode="asynchClientServer")  # no_answer
        check("asynch, no_answer: MSS_StatusQuery says 504 OUTSTANDING_TRANSACTION",
              status_code(c.status(rr.MSSP_TransID)) == 504)

        req = c.common()
        req.update({"MSSP_TransID": r.MSSP_TransID, "MobileUser": {"MSISDN": "84960000001"},
                    "Status": {"StatusCode": {"Value": 100}}})
        rec = c.svc["receipt"].MSS_Receipt(MSS_ReceiptReq=req)
        check("MSS_Receipt: 100", status_code(rec) == 100)

        req = c.common()
        req["MobileUser"] = {"MSISDN": "84960000002"}
        reg = c.svc["reg"].MSS_Registration(MSS_RegistrationReq=req)
        check("MSS_Registration: 408 REGISTRATION_OK", status_code(reg) == 408, status_code(reg))
        check("MSS_Registration: the certificate is the PKI's",
              reg.CertificateResponse and reg.CertificateResponse[0].X509Certificate ==
              der_of(os.path.join(pki, "subs/84960000002.crt.pem"), tmp))
        req["MobileUser"] = {"MSISDN": "84999999991"}
        f = fault_code(lambda: c.svc["reg"].MSS_Registration(MSS_RegistrationReq=req))
        check("MSS_Registration, unknown number: fault 105", f and f[1] == [(ETSI, "_105")], f)

        req = c.common()
        req["MobileUser"] = {"MSISDN": "84960000001"}
        prof = c.svc["profile"].MSS_ProfileQuery(MSS_ProfileReq=req)
        check("MSS_ProfileQuery: 100 and the digitalSignature profile",
              status_code(prof) == 100 and [p.mssURI for p in prof.SignatureProfile] == [PROFILE])

        f = fault_code(lambda: c.sign("84960000011", b"cancel"))
        check("cancel: a SOAP 1.2 fault, subcode mss:_401, reason USER_CANCEL",
              f and f[1] == [(ETSI, "_401")] and f[2] == "USER_CANCEL", f)
        f = fault_code(lambda: Client(wsdl, port, pki, pwd="wrong").sign("84960000001", b"x"))
        check("wrong AP_PWD: fault 104 UNAUTHORIZED_ACCESS, env:Sender",
              f and f[1] == [(ETSI, "_104")] and f[0] == "env:Sender", f)

        tid = "T" + uuid.uuid4().hex
        a = c.sign("84910000001", b"twice", trans_id=tid)
        b = c.sign("84910000001", b"twice", trans_id=tid)
        prompts = c.session.get("https://127.0.0.1:%d/sim/prompts/84910000001" % port).json()
        check("the same AP_TransID twice: the same MSSP_TransID", a.MSSP_TransID == b.MSSP_TransID)
        check("the same AP_TransID twice: the card prompted once", prompts == {"etsi": 1}, prompts)

        hostile(c, pki, port, tmp)

        bare = requests.Session()
        bare.trust_env = False
        bare.verify = os.path.join(pki, "mssp/ca.pem")
        try:
            bare.get("https://127.0.0.1:%d/sim/prompts/84960000001" % port, timeout=30)
            refused = False
        except (requests.exceptions.SSLError, requests.exceptions.ConnectionError):
            refused = True
        check("no client certificate: the TLS handshake is refused", refused)
    finally:
        proc.terminate()
        rc = proc.wait()
        check("simpki-sim exits cleanly on SIGTERM", rc == 0, rc)
        if failed:
            log.seek(0)
            sys.stderr.write("--- simpki-sim log (tail) ---\n" + "".join(log.readlines()[-60:]))
    print("zeep_mssp: %d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
