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
MSS_ProfileQuery, a cancel, a wrong AP_PWD, a repeated AP_TransID (one
prompt), and a handshake without a client certificate (refused).

Debian's /usr/bin/python3 with python3-zeep (tests/run.sh installs it).
"""
import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone

import requests
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport

TNS = "{http://ae.mobile-id.vn/TS102204/etsi204}"
ETSI = "http://uri.etsi.org/TS102204/v1.1.2#"
PKCS1 = ETSI + "PKCS1"
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
        subprocess.run([JQ, ".carriers |= map(.port = 0) | .mssp.port = 0 | .defaults.delay_ms = 300",
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

    def sign(self, msisdn, msg, mode="synch", trans_id=None):
        req = self.common(trans_id)
        req.update({"MessagingMode": mode, "TimeOut": 60, "MobileUser": {"MSISDN": msisdn},
                    "DataToBeSigned": {"_value_1": base64.b64encode(digest_info(msg)).decode(),
                                       "MimeType": "application/octet-stream", "Encoding": "base64"},
                    "DataToBeDisplayed": {"_value_1": "Ký văn bản số 12/QĐ", "MimeType": "text/plain"},
                    "MSS_Format": {"mssURI": PKCS1}, "SignatureProfile": {"mssURI": PROFILE},
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
