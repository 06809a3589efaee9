#!/usr/bin/python3
"""zeep_north.py - simpki's ETSI TS 102 204 endpoint (gateway/api/gw_soap.h)
checked by a SOAP client nobody here wrote: python3-zeep, with the Government
CA's WSDL loaded unchanged, pointed at simpki by changing only the address and
the AP's credentials, exactly as an existing e-office client would be.

    AP_PWD=.. OTHER_PWD=.. CB_SECRET=.. TOKEN=.. \\
    /usr/bin/python3 zeep_north.py BASE_URL PKI_DIR REPO_ROOT RECEIVER_PORT

tests/integration/e2e_soap.sh starts the stack (simpkid, Redis, the
simulator's SIMs over SMPP) and runs this.  Checks: MSS_Signature synch (RSA
and EC, openssl verifies each signature with the registered certificate),
asynchClientServer + MSS_StatusQuery, MSS_Receipt, MSS_Registration,
MSS_ProfileQuery, PKCS7 (openssl cms -verify), every failure behaviour as its
fault, the same transactions read through the JSON API and the other way
round, BUSY, a repeated AP_TransID, credentials and roles,
asynchServerServer's MSS_Notification reaching a receiver once, and hostile
requests each answered with a fault while the daemon keeps serving.
"""
import base64
import concurrent.futures
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

import requests
import zeep
from lxml import etree
from zeep.exceptions import Fault

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zeep_mssp as zm  # noqa: E402  (one copy of the helpers: transport, digests, openssl checks)

check = zm.check
SOAP = "http://www.w3.org/2003/05/soap-envelope"
AP_ID = "http://eoffice.test/ap"
OTHER_ID = "http://other.test/ap"


class North:
    """A zeep client of simpki's endpoint for one AP."""

    def __init__(self, wsdl, base, ap_id, pwd):
        self.session = requests.Session()
        self.session.trust_env = False
        # A request simpki never answers must fail the check, not hang the test.
        self.client = zeep.Client(wsdl, transport=zm.OfflineTransport(session=self.session, operation_timeout=90))
        self.base = base + "/soap/services/"
        self.ap_id, self.pwd = ap_id, pwd
        self.svc = {}
        for op, binding, path in (("sig", "MSS_SignatureBinding", "MSS_SignaturePort"),
                                  ("status", "MSS_StatusQueryBinding", "MSS_StatusQueryPort"),
                                  ("receipt", "MSS_ReceiptBinding", "MSS_ReceiptPort"),
                                  ("profile", "MSS_ProfileQueryBinding", "MSS_ProfileQueryPort"),
                                  ("reg", "MSS_RegistrationBinding", "MSS_RegistrationPort")):
            self.svc[op] = self.client.create_service(zm.TNS + binding, self.base + path)

    def common(self, trans_id=None):
        return {"MajorVersion": 1, "MinorVersion": 1,
                "AP_Info": {"AP_ID": self.ap_id, "AP_PWD": self.pwd,
                            "AP_TransID": trans_id or ("T" + uuid.uuid4().hex),
                            "Instant": datetime.now(timezone.utc).replace(microsecond=0)},
                "MSSP_Info": {"MSSP_ID": {"URI": "http://hmssp.mobile-id.vn"}}}

    def sig_req(self, msisdn, msg, mode="synch", trans_id=None, fmt=zm.PKCS1, services=True, timeout=60):
        req = self.common(trans_id)
        req.update({"MessagingMode": mode, "TimeOut": timeout, "MobileUser": {"MSISDN": msisdn},
                    "DataToBeSigned": {"_value_1": base64.b64encode(zm.digest_info(msg)).decode(),
                                       "MimeType": "application/octet-stream", "Encoding": "base64"},
                    "DataToBeDisplayed": {"_value_1": "Ký văn bản số 12/QĐ", "MimeType": "text/plain"},
                    "MSS_Format": {"mssURI": fmt}, "SignatureProfile": {"mssURI": zm.PROFILE}})
        if services:
            req["AdditionalServices"] = {"Service": [{"Description": {"mssURI": zm.SIGNING_CERT}},
                                                     {"Description": {"mssURI": zm.VALIDATION}}]}
        return req

    def sign(self, msisdn, msg, **kw):
        return self.svc["sig"].MSS_Signature(MSS_SignatureReq=self.sig_req(msisdn, msg, **kw))

    def status(self, tid):
        req = self.common()
        req["MSSP_TransID"] = tid
        return self.svc["status"].MSS_StatusQuery(MSS_StatusReq=req)

    def receipt(self, tid, msisdn, text):
        req = self.common()
        req.update({"MSSP_TransID": tid, "MobileUser": {"MSISDN": msisdn},
                    "Message": {"_value_1": text, "MimeType": "text/plain"}})
        return self.svc["receipt"].MSS_Receipt(MSS_ReceiptReq=req)

    def registration(self, msisdn):
        req = self.common()
        req["MobileUser"] = {"MSISDN": msisdn}
        return self.svc["reg"].MSS_Registration(MSS_RegistrationReq=req)

    def profile(self, msisdn):
        req = self.common()
        req["MobileUser"] = {"MSISDN": msisdn}
        return self.svc["profile"].MSS_ProfileQuery(MSS_ProfileReq=req)

    def raw_sign(self, msisdn, msg=b"raw", **kw):
        """The envelope zeep would send, as an lxml tree, for requests zeep cannot make."""
        return self.client.create_message(self.svc["sig"], "MSS_Signature",
                                          MSS_SignatureReq=self.sig_req(msisdn, msg, **kw))

    def post(self, body, port="MSS_SignaturePort", ctype="application/soap+xml; charset=utf-8", **kw):
        if not isinstance(body, (bytes, str)):
            body = etree.tostring(body)
        return self.session.post(self.base + port, data=body, headers={"Content-Type": ctype}, timeout=60, **kw)


def fault(call):
    """(subcode local name, reason) of the Fault a call raises; None when it does not."""
    try:
        call()
    except Fault as e:
        sub = [q.localname for q in (e.subcodes or [])]
        return (sub[0] if sub else None), e.message
    return None


def subcode(resp):
    doc = etree.fromstring(resp.content, etree.XMLParser(resolve_entities=False, no_network=True))
    return doc.findtext(".//{%s}Subcode/{%s}Value" % (SOAP, SOAP))


class JSON:
    def __init__(self, base, token):
        self.base, self.h = base, {"Authorization": "Bearer " + token}
        self.s = requests.Session()
        self.s.trust_env = False

    def get(self, path):
        r = self.s.get(self.base + path, headers=self.h, timeout=60)
        return r.status_code, r.json()

    def post(self, path, body):
        r = self.s.post(self.base + path, headers=self.h, json=body, timeout=60)
        return r.status_code, r.json()


def cert(pki, msisdn, tmp):
    return zm.der_of(os.path.join(pki, "subs/%s.crt.pem" % msisdn), tmp)


def poll_status(c, tid, limit=30):
    end = time.time() + limit
    while time.time() < end:
        try:
            r = c.status(tid)
        except Fault:
            raise
        if zm.status_code(r) != 504:
            return r
        time.sleep(0.2)
    return r


# ---- the checks --------------------------------------------------------------


def signatures(c, pki, tmp):
    for msisdn in ("84960000001", "84910000002"):  # RSA Viettel, EC Vinaphone
        msg = ("synch %s" % msisdn).encode()
        r = c.sign(msisdn, msg)
        pem = os.path.join(pki, "subs/%s.crt.pem" % msisdn)
        check("%s synch: 502 VALID_SIGNATURE (signatureValidation asked)" % msisdn, zm.status_code(r) == 502,
              zm.status_code(r))
        check("%s synch: openssl verifies the signature with the registered certificate" % msisdn,
              zm.openssl_verifies(pem, msg, r.MSS_Signature.Base64Signature, tmp))
        check("%s synch: signingCertificate is the registered certificate" % msisdn,
              zm.signing_cert(r) == cert(pki, msisdn, tmp))
        check("%s synch: MSSP_TransID is an NCName" % msisdn, r.MSSP_TransID[0].isalpha())
    r = c.sign("84900000001", b"no services", services=False)
    check("without signatureValidation: 500 SIGNATURE", zm.status_code(r) == 500, zm.status_code(r))
    msg = b"cms document"
    r = c.sign("84960000001", msg, fmt=zm.PKCS7)
    check("MSS_Format PKCS7: openssl cms -verify accepts the SignedData over the document",
          zm.status_code(r) == 502 and zm.cms_verifies(msg, r.MSS_Signature.Base64Signature, tmp))


def asynch(c, j, pki, tmp):
    msg = b"asynch"
    r = c.sign("84900000002", msg, mode="asynchClientServer")
    check("asynchClientServer: 100 REQUEST_OK with an MSSP_TransID", zm.status_code(r) == 100 and r.MSSP_TransID,
          zm.status_code(r))
    tid = r.MSSP_TransID
    first = c.status(tid)
    check("MSS_StatusQuery at once: 504 OUTSTANDING_TRANSACTION", zm.status_code(first) == 504, zm.status_code(first))
    r = poll_status(c, tid)
    check("MSS_StatusQuery later: 502 with the signature, openssl verifies it",
          zm.status_code(r) == 502 and zm.openssl_verifies(os.path.join(pki, "subs/84900000002.crt.pem"), msg,
                                                           r.MSS_Signature.Base64Signature, tmp))
    code, t = j.get("/v1/signatures/" + tid[1:])
    check("the JSON API reads the SOAP transaction: completed, same signature, AP_TransID as client_ref",
          code == 200 and t["state"] == "completed"
          and base64.b64decode(t["signature"]) == r.MSS_Signature.Base64Signature and t.get("client_ref"),
          (code, t))
    rr = c.receipt(tid, "84900000002", "Đã nhận")
    check("MSS_Receipt: 100", zm.status_code(rr) == 100, zm.status_code(rr))
    code, t = j.get("/v1/signatures/" + tid[1:])
    check("the receipt is recorded with the transaction (JSON)", code == 200 and "receipt" in t, t)

    # And the other way round: started with the JSON API, read and receipted over SOAP.
    d = hashlib.sha256(b"json started").digest()
    code, t = j.post("/v1/signatures", {"msisdn": "84960000002", "digest": base64.b64encode(d).decode(),
                                         "display_text": "JSON"})
    check("JSON POST accepted", code == 202, (code, t))
    r = poll_status(c, "T" + t["id"])
    check("MSS_StatusQuery reads the JSON transaction: 502, the signature verifies",
          zm.status_code(r) == 502 and zm.openssl_verifies(os.path.join(pki, "subs/84960000002.crt.pem"),
                                                           b"json started", r.MSS_Signature.Base64Signature, tmp))
    check("MSS_Receipt on the JSON transaction: 100", zm.status_code(c.receipt("T" + t["id"], "84960000002", "ok")) == 100)


def registry(c, other, pki, tmp):
    r = c.registration("0960000001")
    got = r.CertificateResponse[0].X509Certificate if r.CertificateResponse else None
    check("MSS_Registration: 408 REGISTRATION_OK with the registered certificate",
          zm.status_code(r) == 408 and got == cert(pki, "84960000001", tmp), zm.status_code(r))
    r = c.profile("84960000001")
    check("MSS_ProfileQuery: the vGCA signature profile",
          zm.status_code(r) == 100 and [p.mssURI for p in r.SignatureProfile] == [zm.PROFILE])
    check("MSS_Registration of an unknown number: fault 105",
          (fault(lambda: c.registration("84969999991")) or ("",))[0] == "_105")
    check("MSS_Registration by an AP without the lookup role: fault 104",
          (fault(lambda: other.registration("84960000001")) or ("",))[0] == "_104")


FAILURES = {  # behaviour -> fault subcode (docs/results.md)
    "01": "_401", "03": "_402", "04": "_403", "05": "_404", "06": "_208", "07": "_208",
    "08": "_503", "11": "_209", "02": "_208",
}


def failures(wsdl, base, pwd):
    def one(b):  # a client per thread: each waits on its own held request
        c = North(wsdl, base, AP_ID, pwd)
        return b, fault(lambda: c.sign("84960000%s1" % b, b"behaviour " + b.encode(), timeout=60))
    with concurrent.futures.ThreadPoolExecutor(len(FAILURES)) as ex:
        for b, f in ex.map(one, sorted(FAILURES)):
            check("behaviour %s: fault %s (%s)" % (b, FAILURES[b], f and f[1]), f is not None and f[0] == FAILURES[b],
                  f)


def rules(c, other, wsdl, base):
    r = c.sign("84960000161", b"slow", mode="asynchClientServer")  # 'slow': 5 s
    f = fault(lambda: c.sign("84960000161", b"slow again", mode="asynchClientServer"))
    check("a second request while one is pending: fault 406 (BUSY)", f and f[0] == "_406", f)
    tid = "T" + uuid.uuid4().hex
    c.sign("84910000001", b"once", trans_id=tid, mode="asynchClientServer")
    f = fault(lambda: c.sign("84910000001", b"once", trans_id=tid, mode="asynchClientServer"))
    check("a repeated AP_TransID: fault 101 naming the first transaction", f and f[0] == "_101" and "MSSP_TransID" in f[1],
          f)
    f = fault(lambda: c.sign("84900000001", b"elsewhere", trans_id=tid, mode="asynchClientServer"))
    check("the same AP_TransID for another number (another Redis shard): fault 101 too", f and f[0] == "_101", f)
    f = fault(lambda: other.status(r.MSSP_TransID))
    check("another AP's MSSP_TransID reads as unknown: fault 101", f and f[0] == "_101", f)
    bad = North(wsdl, base, AP_ID, "wrong")
    f1 = fault(lambda: bad.sign("84960000001", b"x"))
    nobody = North(wsdl, base, "http://nobody.test/ap", "wrong")
    f2 = fault(lambda: nobody.sign("84960000001", b"x"))
    check("wrong AP_PWD: fault 104", f1 and f1[0] == "_104", f1)
    check("unknown AP_ID: the same fault and words", f1 == f2, (f1, f2))
    f = fault(lambda: c.sign("0521234567", b"x"))
    check("a number on no configured network: fault 105", f and f[0] == "_105", f)
    f = fault(lambda: c.sign("12345", b"x"))
    check("not a mobile number: fault 101", f and f[0] == "_101", f)


def hostile(c, base):
    env = etree.tostring(c.raw_sign("84960000001", b"h")).decode()
    cases = [
        ("billion laughs", '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
         + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10) for i in range(1, 10))
         + ']><soap:Envelope xmlns:soap="%s"><soap:Body>&lol9;</soap:Body></soap:Envelope>' % SOAP, "_101"),
        ("external entity", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
         + env.replace("Ký văn bản số 12/QĐ", "&xxe;"), "_101"),
        # 10,000 opened elements (30 KB: under the body limit, so the parser's depth limit is what answers).
        ("depth 10,000", '<soap:Envelope xmlns:soap="%s"><soap:Body>' % SOAP + "<a>" * 10000, "_101"),
        ("wrong namespace", env.replace("http://uri.etsi.org/TS102204/v1.1.2#", "urn:not-etsi"), "_108"),
        ("missing AP_PWD", env.replace('AP_PWD="%s"' % c.pwd, ""), "_102"),
        ("not XML", "this is not XML at all", "_101"),
        ("a PI", env.replace("<soap-env:Body>", "<soap-env:Body><?php evil() ?>"), "_101"),
        ("an operation sent to another port", env, "_108"),
    ]
    for name, body, want in cases:
        port = "MSS_StatusQueryPort" if name.startswith("an operation") else "MSS_SignaturePort"
        r = c.post(body.encode(), port=port)
        got = subcode(r) if r.headers.get("Content-Type", "").startswith("application/soap+xml") else None
        check("hostile %s: fault mss:%s (HTTP %d)" % (name, want, r.status_code), got == "mss:" + want,
              (r.status_code, r.text[:300]))
    r = c.post(env.encode(), ctype="text/xml; charset=utf-8")
    check("SOAP 1.1 content type: fault 108", subcode(r) == "mss:_108", r.text[:200])
    r = c.post(env.replace("http://www.w3.org/2003/05/soap-envelope",
                           "http://schemas.xmlsoap.org/soap/envelope/").encode())
    check("a SOAP 1.1 envelope: fault 108", r.status_code == 400 and "_108" in r.text, r.text[:300])
    # 50 MB: refused by the HTTP layer before it is read (413), not buffered.
    try:
        r = c.session.post(c.base + "MSS_SignaturePort", data=b"<" * (50 << 20),
                           headers={"Content-Type": "application/soap+xml"}, timeout=60)
        big = r.status_code
    except requests.exceptions.ConnectionError:
        big = "closed"
    check("a 50 MB body: refused with 413 before it is read (%s)" % big, big in (413, "closed"))
    r = c.sign("84960000001", b"after the storm")
    check("after every hostile request a signature still works", zm.status_code(r) == 502)


class Receiver(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.got.append((dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def server_server(c, recv_port, secret):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", recv_port), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/notify" % recv_port
        msg = b"server-server"

        def req(ap_url):
            doc = c.raw_sign("84960000001", msg, mode="asynchServerServer")
            for el in doc.iter("{%s}AP_Info" % zm.ETSI):
                el.set("AP_URL", ap_url)
            for el in doc.iter("MSS_SignatureReq"):
                el.set("MessagingMode", "asynchServerServer")
            return c.post(doc)
        r = req(url)
        check("asynchServerServer: 100 REQUEST_OK", r.status_code == 200 and b'Value="100"' in r.content, r.text[:300])
        end = time.time() + 20
        while time.time() < end and not Receiver.got:
            time.sleep(0.1)
        time.sleep(2)  # a second delivery would come within this
        check("the MSS_Notification reached the receiver, once", len(Receiver.got) == 1, len(Receiver.got))
        if Receiver.got:
            h, body = Receiver.got[0]
            doc = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
            st = doc.find(".//{%s}StatusCode" % zm.ETSI)
            sig = doc.findtext(".//{%s}Base64Signature" % zm.ETSI)
            check("the notification is SOAP 1.2 with status 502 and the signature",
                  doc.tag == "{%s}Envelope" % SOAP and st is not None and st.get("Value") == "502" and sig, body[:300])
            sh = h.get("X-Simpki-Signature", "")
            parts = dict(p.split("=", 1) for p in sh.split(",") if "=" in p)
            mac = hmac.new(secret.encode(), parts.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
            check("the notification carries the relying party's HMAC", hmac.compare_digest(mac, parts.get("v1", "")), sh)
        r = req("http://127.0.0.1:1/elsewhere")
        check("an AP_URL off the allow-list: fault 101", subcode(r) == "mss:_101", r.text[:300])
    finally:
        srv.shutdown()


def main():
    base, pki, root, recv_port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    wsdl = zm.wsdl_copy_check(root)
    c = North(wsdl, base, AP_ID, os.environ["AP_PWD"])
    other = North(wsdl, base, OTHER_ID, os.environ["OTHER_PWD"])
    j = JSON(base, os.environ["TOKEN"])
    with tempfile.TemporaryDirectory() as tmp:
        for part in (lambda: signatures(c, pki, tmp), lambda: asynch(c, j, pki, tmp),
                     lambda: registry(c, other, pki, tmp), lambda: failures(wsdl, base, os.environ["AP_PWD"]),
                     lambda: rules(c, other, wsdl, base), lambda: hostile(c, base),
                     lambda: server_server(c, recv_port, os.environ["CB_SECRET"])):
            try:
                part()
            except Exception as e:  # one part's surprise must not hide the others' results
                check("no exception", False, repr(e))
    print("zeep_north: %d passed, %d failed" % (zm.passed, zm.failed))
    return 1 if zm.failed or zm.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
