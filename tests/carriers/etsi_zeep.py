#!/usr/bin/python3
"""etsi_zeep.py WSDL DIR - zeep, an independent SOAP client, reads each
request etsi_tool wrote into DIR as the WSDL's operation input and checks
the values.  zeep refuses an element in the wrong place or namespace
(strict mode); a part it cannot find comes back as None, which is checked
too.  The WSDL imports xml.xsd from the network: a local stand-in serves
it, nothing else is fetched."""
import sys

import zeep
from lxml import etree

XMLXSD = b"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
 targetNamespace="http://www.w3.org/XML/1998/namespace">
<xs:attribute name="lang" type="xs:string"/><xs:attribute name="space" type="xs:string"/>
<xs:attribute name="base" type="xs:anyURI"/><xs:attribute name="id" type="xs:ID"/></xs:schema>"""


class Offline(zeep.Transport):
    def load(self, url):
        if url.startswith("http"):
            if url.endswith("/xml.xsd"):
                return XMLXSD
            raise RuntimeError("no network: " + url)
        return super().load(url)


# file: (port, operation, part, {dotted path: expected value})
CASES = {
    "signature": ("MSS_SignaturePort", "MSS_Signature", "MSS_SignatureReq", {
        "MessagingMode": "synch", "TimeOut": 300, "AP_Info.AP_PWD": "p<&\"'>w",
        "AP_Info.AP_TransID": "AP_1.a-b", "MobileUser.MSISDN": "84912345678",
        "DataToBeSigned._value_1": "MDEwDQYJYIZIAWUDBAIBBQAEIP/+/Q==",
        "DataToBeDisplayed._value_1": "K\u00fd h\u1ed3 s\u01a1 <12> & \"x\"",
        "MSS_Format.mssURI": "http://uri.etsi.org/TS102204/v1.1.2#PKCS1",
        "SignatureProfile.mssURI": "http://mobile-id.vn/digitalSignature",
        "AdditionalServices.Service.0.Description.mssURI":
            "http://mobile-id.vn/MSSP/v1.0.0#signingCertificate",
        "AdditionalServices.Service.1.Description.mssURI":
            "http://mobile-id.vn/MSSP/v1.0.0#signatureValidation",
        "MSSP_Info.MSSP_ID.URI": "http://hmssp.mobile-id.vn"}),
    "signature_asynch": ("MSS_SignaturePort", "MSS_Signature", "MSS_SignatureReq", {
        "MessagingMode": "asynchClientServer", "TimeOut": None, "MSS_Format": None}),
    "status": ("MSS_StatusQueryPort", "MSS_StatusQuery", "MSS_StatusReq", {
        "MSSP_TransID": "MSSP_T9", "AP_Info.AP_TransID": "AP_1.a-b"}),
    "receipt": ("MSS_ReceiptPort", "MSS_Receipt", "MSS_ReceiptReq", {
        "MSSP_TransID": "MSSP_T9", "MobileUser.MSISDN": "84912345678",
        "Message._value_1": "OK <done>"}),
    "registration": ("MSS_RegistrationPort", "MSS_Registration", "MSS_RegistrationReq", {
        "MobileUser.MSISDN": "84912345678", "AP_Info.Instant.year": 2026}),
    "profile": ("MSS_ProfilePort", "MSS_ProfileQuery", "MSS_ProfileReq", {
        "MobileUser.MSISDN": "84912345678"}),
}


def get(obj, path):
    for key in path.split("."):
        if obj is None:
            return None
        obj = obj[int(key)] if key.isdigit() else getattr(obj, key) if not isinstance(obj, dict) else obj.get(key)
    return obj


MSS = "{http://uri.etsi.org/TS102204/v1.1.2#}"


def shape(env, opname, part):
    """What zeep lets through: it matches an unqualified element by its
    local name and ignores the rpc wrapper's and part's names.  The WSDL
    (rpc/literal, no soap:body namespace, elementFormDefault="qualified")
    wants the wrapper and part unqualified and everything under the part in
    the ETSI namespace."""
    body = env.find("{http://www.w3.org/2003/05/soap-envelope}Body")
    wrap = body[0] if body is not None and len(body) else None
    if wrap is None or wrap.tag != opname:
        return f"Body's child is {None if wrap is None else wrap.tag}, want unqualified {opname}"
    if len(wrap) != 1 or wrap[0].tag != part:
        return f"the wrapper's child is not one unqualified {part}"
    for el in wrap[0].iterdescendants():
        if isinstance(el.tag, str) and not el.tag.startswith(MSS):
            return f"{el.tag} is not in the ETSI namespace"
    return None


def main():
    wsdl, folder = sys.argv[1], sys.argv[2]
    client = zeep.Client(wsdl, transport=Offline())
    bad = 0
    for name, (port, opname, part, want) in CASES.items():
        op = client.bind("MSS_SignatureService", port)._binding._operations[opname]
        env = etree.parse(f"{folder}/{name}.xml").getroot()
        wrong = shape(env, opname, part)
        if wrong:
            print(f"{name}: {wrong}")
            bad += 1
            continue
        try:
            got = op.input.deserialize(env)
            # One part: zeep returns its value itself.
            req = got[part] if isinstance(got, dict) and part in got else got
        except Exception as e:  # zeep's refusal, with its reason
            print(f"{name}: zeep refused it: {type(e).__name__}: {e}")
            bad += 1
            continue
        if req is None:
            print(f"{name}: zeep found no {part} where the WSDL puts it")
            bad += 1
            continue
        for path, value in want.items():
            have = get(req, path)
            if have != value:
                print(f"{name}: {path} is {have!r}, want {value!r}")
                bad += 1
    print(f"etsi_zeep: {len(CASES)} requests, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
