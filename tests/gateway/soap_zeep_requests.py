#!/usr/bin/python3
"""soap_zeep_requests.py WSDL OUTDIR - how tests/gateway/data/soap/*.xml were
made: zeep, loading the vGCA WSDL unchanged, writes each request
(client.create_message) exactly as an e-office client sends it.  Rerun to
regenerate; test_soap_xml parses the files."""
import datetime
import os
import sys

import zeep
from lxml import etree

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "carriers"))
from etsi_zeep import Offline  # noqa: E402  (the offline xml.xsd stand-in)

c = zeep.Client(sys.argv[1], transport=Offline())
os.chdir(sys.argv[2])
inst = datetime.datetime(2026, 12, 5, 19, 40, 0, tzinfo=datetime.timezone.utc)
head = dict(MajorVersion=1, MinorVersion=1,
            AP_Info=dict(AP_ID="http://eoffice.example/ap", AP_PWD="s3cr&t<pwd>", AP_TransID="AP_0001", Instant=inst),
            MSSP_Info=dict(MSSP_ID=dict(URI="http://hmssp.mobile-id.vn")))
PARTS={"MSS_Signature":"MSS_SignatureReq","MSS_StatusQuery":"MSS_StatusReq","MSS_Receipt":"MSS_ReceiptReq","MSS_Registration":"MSS_RegistrationReq","MSS_ProfileQuery":"MSS_ProfileReq"}
def dump(name, port, op, **kw):
    svc = c.bind("MSS_SignatureService", port)
    env = c.create_message(svc, op, **{PARTS[op]: dict(head, **kw)})
    open(name + ".xml", "wb").write(etree.tostring(env, xml_declaration=True, encoding="UTF-8"))
dump("signature", "MSS_SignaturePort", "MSS_Signature",
     MessagingMode="synch", TimeOut=300, MobileUser=dict(MSISDN="84912345678"),
     DataToBeSigned=dict(_value_1="MDEwDQYJYIZIAWUDBAIBBQAEIP/+/Q==", MimeType="application/octet-stream", Encoding="base64"),
     DataToBeDisplayed=dict(_value_1="K\u00fd h\u1ed3 s\u01a1 <12> & \"x\"", MimeType="text/plain", Encoding="UTF-8"),
     MSS_Format=dict(mssURI="http://uri.etsi.org/TS102204/v1.1.2#PKCS1"),
     SignatureProfile=dict(mssURI="http://mobile-id.vn/digitalSignature"),
     AdditionalServices=dict(Service=[dict(Description=dict(mssURI="http://mobile-id.vn/MSSP/v1.0.0#signingCertificate")),
                                      dict(Description=dict(mssURI="http://mobile-id.vn/MSSP/v1.0.0#signatureValidation"))]))
dump("status", "MSS_StatusQueryPort", "MSS_StatusQuery", MSSP_TransID="MSSP_T9")
dump("receipt", "MSS_ReceiptPort", "MSS_Receipt", MSSP_TransID="MSSP_T9", MobileUser=dict(MSISDN="84912345678"),
     Message=dict(_value_1="OK <done>", MimeType="text/plain", Encoding="UTF-8"))
dump("registration", "MSS_RegistrationPort", "MSS_Registration", MobileUser=dict(MSISDN="84912345678"))
dump("profile", "MSS_ProfilePort", "MSS_ProfileQuery", MobileUser=dict(MSISDN="84912345678"))
