#!/bin/sh
# tests/unit/net/gen-certs.sh DIR - the test PKI for the net tests, made fresh
# each run: two CAs, a server certificate for localhost/127.0.0.1 from the
# first (server.*) and one from the second (server2.*, subject CN=reloaded),
# both EC P-256 so generation stays fast.
set -eu
d=$1
cd "$d"

cat > ca.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = ucs test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
cat > leaf.ext <<'CNF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
CNF

ca() { # name subject
	openssl req -x509 -config ca.cnf -subj "$2" -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-nodes -keyout "$1.key" -out "$1.crt" -days 2 2>/dev/null
}
leaf() { # name subject ca
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
		-keyout "$1.key" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial \
		-extfile leaf.ext -days 2 -out "$1.crt" 2>/dev/null
}

ca ca "/CN=ucs test CA"
ca ca2 "/CN=ucs second CA"
leaf server "/CN=localhost" ca
leaf server2 "/CN=reloaded" ca2
echo "this is not a certificate" > broken.crt
