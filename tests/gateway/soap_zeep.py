#!/usr/bin/python3
"""soap_zeep.py WSDL DIR - zeep, loading the vGCA WSDL unchanged, reads each
answer gw_soap_xml.c wrote into DIR (test_soap_xml ... write DIR) the way a
zeep client reads a reply off the wire: the port's binding.process_reply(),
which parses the envelope, raises zeep's Fault for a SOAP fault and
deserialises the operation's output part.  The values an e-office client
uses are checked: Status/StatusCode/@Value, MSSP_TransID, the signature, the
certificate (StatusDetail ServiceResponses or CertificateResponse).  The
notification (asynchServerServer) has no operation in the vGCA WSDL: its
part has MSS_StatusRespType, so the status query's output reads it."""
import base64
import os
import sys

import zeep
from lxml import etree
from zeep.exceptions import Fault

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "carriers"))
from etsi_zeep import Offline  # noqa: E402  (the offline xml.xsd stand-in)

ETSI = "http://uri.etsi.org/TS102204/v1.1.2#"
SIG = bytes([0x01, 0x02, 0xFE, 0xFF, 0x00, 0x7F])
CERT = bytes([0x30, 0x82, 0x01, 0x0A, 0x02, 0x01, 0x01])
SIGNING_CERT = "http://mobile-id.vn/MSSP/v1.0.0#signingCertificate"
VALIDATION = "http://mobile-id.vn/MSSP/v1.0.0#signatureValidation"

# file: (port, operation, {what: expected})
CASES = {
    "signature_502": ("MSS_SignaturePort", "MSS_Signature", {
        "status": 502, "MSSP_TransID": "SP_42", "signature": SIG, "cert": CERT, "validated": True,
        "MSISDN": "84912345678", "AP_TransID": "AP_0001", "message": "VALID_SIGNATURE",
        "MSS_Format": ETSI + "PKCS1", "SignatureProfile": "http://mobile-id.vn/digitalSignature",
        "MSSP_ID": "http://simpki.example/mssp", "AP_PWD": ""}),
    "signature_100": ("MSS_SignaturePort", "MSS_Signature", {
        "status": 100, "MSSP_TransID": "SP_43", "signature": None, "cert": None}),
    "status_504": ("MSS_StatusQueryPort", "MSS_StatusQuery", {
        "status": 504, "message": "still waiting <for> you & me", "signature": None}),
    "status_500": ("MSS_StatusQueryPort", "MSS_StatusQuery", {
        "status": 500, "signature": SIG, "cert": CERT, "MSS_Format": ETSI + "PKCS7", "validated": False}),
    "receipt": ("MSS_ReceiptPort", "MSS_Receipt", {"status": 100, "AP_TransID": "AP_0001"}),
    "registration_408": ("MSS_RegistrationPort", "MSS_Registration", {"status": 408, "regcert": CERT}),
    "profile": ("MSS_ProfilePort", "MSS_ProfileQuery", {
        "status": 100, "profiles": ["http://mobile-id.vn/digitalSignature", "http://simpki.example/profile<&>"]}),
    "notification": ("MSS_StatusQueryPort", "MSS_StatusQuery", {
        "status": 502, "signature": SIG, "validated": True, "AP_TransID": "AP_0001"}),
}
FAULTS = {"fault_101": (101, "Sender", "WRONG_PARAM: TimeOut not 1..3600 seconds"),
          "fault_900": (900, "Receiver", "INTERNAL_ERROR"),
          "fault_104": (104, "Sender", "UNAUTHORIZED_ACCESS: AP <unknown> & ??")}


class Reply:
    """What process_reply reads of a requests.Response."""
    def __init__(self, content, status):
        self.content = content
        self.status_code = status
        self.headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
        self.encoding = "utf-8"


def services(resp):
    """The ServiceResponses: {Description URI: SubscriberInfo Details}."""
    out = {}
    detail = resp.Status.StatusDetail
    if detail is None:
        return out
    for item in detail._value_1:
        for sr in item["ServiceResponses"].ServiceResponse:
            out[sr.Description.mssURI] = sr.SubscriberInfo.Detail if sr.SubscriberInfo is not None else []
    return out


def values(resp):
    svc = services(resp)
    have = {"status": int(resp.Status.StatusCode.Value), "message": resp.Status.StatusMessage,
            "AP_TransID": resp.AP_Info.AP_TransID, "AP_PWD": resp.AP_Info.AP_PWD,
            "MSSP_ID": resp.MSSP_Info.MSSP_ID.URI}
    if hasattr(resp, "MSSP_TransID"):
        have["MSSP_TransID"] = resp.MSSP_TransID
    if hasattr(resp, "MobileUser"):
        have["MSISDN"] = resp.MobileUser.MSISDN
    if hasattr(resp, "MSS_Signature"):
        have["signature"] = resp.MSS_Signature.Base64Signature if resp.MSS_Signature is not None else None
        have["MSS_Format"] = resp.MSS_Format.mssURI if resp.MSS_Format is not None else None
        certs = [d.value for d in svc.get(SIGNING_CERT, []) if d.id == "X509Certificate"]
        have["cert"] = base64.b64decode(certs[0]) if certs else None
        have["validated"] = VALIDATION in svc
    if hasattr(resp, "SignatureProfile"):
        sp = resp.SignatureProfile
        have["profiles"] = [p.mssURI for p in sp] if isinstance(sp, list) else None
        have["SignatureProfile"] = sp.mssURI if sp is not None and not isinstance(sp, list) else None
    if hasattr(resp, "CertificateResponse"):
        have["regcert"] = resp.CertificateResponse[0].X509Certificate if resp.CertificateResponse else None
    return have


def main():
    wsdl, folder = sys.argv[1], sys.argv[2]
    client = zeep.Client(wsdl, transport=Offline())
    bad = 0
    for name, (port, opname, want) in CASES.items():
        svc = client.bind("MSS_SignatureService", port)
        op = svc._binding._operations[opname]
        if not os.path.exists(f"{folder}/{name}.xml"):
            print(f"{name}: not written")
            bad += 1
            continue
        content = open(f"{folder}/{name}.xml", "rb").read()
        body = etree.fromstring(content).find("{http://www.w3.org/2003/05/soap-envelope}Body")
        wrap = "MSS_Notification" if name == "notification" else opname + "Response"
        part = "MSS_StatusResp" if name == "notification" else op.output.body.type.elements[0][0]
        if len(body) != 1 or body[0].tag != wrap or len(body[0]) != 1 or body[0][0].tag != part:
            print(f"{name}: Body is not an unqualified {wrap} around an unqualified {part}")
            bad += 1
            continue
        try:
            resp = svc._binding.process_reply(client, op, Reply(content, 200))
        except Exception as e:  # zeep's refusal, with its reason
            print(f"{name}: zeep refused it: {type(e).__name__}: {e}")
            bad += 1
            continue
        if resp is None:
            print(f"{name}: zeep found no answer part")
            bad += 1
            continue
        try:
            have = values(resp)
        except Exception as e:  # a value zeep left None where the WSDL requires one
            print(f"{name}: cannot read the answer's values: {type(e).__name__}: {e}")
            bad += 1
            continue
        for key, value in want.items():
            if have.get(key, "(absent)") != value:
                print(f"{name}: {key} is {have.get(key, '(absent)')!r}, want {value!r}")
                bad += 1
    op = client.bind("MSS_SignatureService", "MSS_SignaturePort")
    for name, (code, value, text) in FAULTS.items():
        content = open(f"{folder}/{name}.xml", "rb").read()
        try:
            op._binding.process_reply(client, op._binding._operations["MSS_Signature"],
                                      Reply(content, 400 if value == "Sender" else 500))
            print(f"{name}: zeep raised no Fault")
            bad += 1
            continue
        except Fault as f:
            got = (f.code, [(q.namespace, q.localname) for q in f.subcodes or []], f.message)
        want = (f"{{http://www.w3.org/2003/05/soap-envelope}}{value}", [(ETSI, f"_{code}")], text)
        if got[1:] != want[1:] or not got[0] or not got[0].endswith(value):
            print(f"{name}: zeep's Fault is {got!r}, want {want!r}")
            bad += 1
    print(f"soap_zeep: {len(CASES)} answers and {len(FAULTS)} faults, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
