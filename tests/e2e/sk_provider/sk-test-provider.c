/*
 * A software security key for the tests: an OpenSSH security-key
 * middleware (the SecurityKeyProvider API of sk-api.h, version 0x000a0000,
 * OpenSSH 8.9 and later) that holds ed25519 keys in memory of the process
 * (the key handle is the private seed) and signs like a FIDO authenticator:
 * SHA-256(application) || flags || counter || SHA-256(message).
 *
 * SK_TEST_FLAGS (hex, e.g. "00") sets the flags byte it reports instead of
 * the user-presence bit a touched key sets: "00" is a signature made without
 * a touch. SK_TEST_COUNTER sets the counter (default 1).
 *
 * Built by the tests with: cc -shared -fPIC -o sk-test-provider.so sk-test-provider.c -lcrypto
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define SSH_SK_VERSION_MAJOR 0x000a0000
#define SSH_SK_ED25519 0x01
#define SSH_SK_ERR_GENERAL -1
#define SSH_SK_ERR_UNSUPPORTED -2

struct sk_enroll_response {
	uint8_t flags;
	uint8_t *public_key;
	size_t public_key_len;
	uint8_t *key_handle;
	size_t key_handle_len;
	uint8_t *signature;
	size_t signature_len;
	uint8_t *attestation_cert;
	size_t attestation_cert_len;
	uint8_t *authdata;
	size_t authdata_len;
};

struct sk_sign_response {
	uint8_t flags;
	uint32_t counter;
	uint8_t *sig_r;
	size_t sig_r_len;
	uint8_t *sig_s;
	size_t sig_s_len;
};

struct sk_resident_key;
struct sk_option;

uint32_t sk_api_version(void) { return SSH_SK_VERSION_MAJOR; }

static uint8_t *copy(const uint8_t *p, size_t n) {
	uint8_t *out = malloc(n ? n : 1);
	if (out && n) memcpy(out, p, n);
	return out;
}

int sk_enroll(uint32_t alg, const uint8_t *challenge, size_t challenge_len,
    const char *application, uint8_t flags, const char *pin,
    struct sk_option **options, struct sk_enroll_response **enroll_response) {
	(void)challenge; (void)challenge_len; (void)application; (void)pin; (void)options;
	if (alg != SSH_SK_ED25519) return SSH_SK_ERR_UNSUPPORTED;
	uint8_t seed[32], pub[32];
	size_t publen = sizeof(pub);
	if (RAND_bytes(seed, sizeof(seed)) != 1) return SSH_SK_ERR_GENERAL;
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	if (!key || EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1) return SSH_SK_ERR_GENERAL;
	EVP_PKEY_free(key);
	struct sk_enroll_response *r = calloc(1, sizeof(*r));
	if (!r) return SSH_SK_ERR_GENERAL;
	r->flags = flags;
	r->public_key = copy(pub, sizeof(pub));
	r->public_key_len = sizeof(pub);
	r->key_handle = copy(seed, sizeof(seed));
	r->key_handle_len = sizeof(seed);
	*enroll_response = r;
	return 0;
}

int sk_sign(uint32_t alg, const uint8_t *data, size_t data_len,
    const char *application, const uint8_t *key_handle, size_t key_handle_len,
    uint8_t flags, const char *pin, struct sk_option **options,
    struct sk_sign_response **sign_response) {
	(void)pin; (void)options; (void)flags;
	if (alg != SSH_SK_ED25519 || key_handle_len != 32) return SSH_SK_ERR_UNSUPPORTED;
	const char *f = getenv("SK_TEST_FLAGS");
	const char *c = getenv("SK_TEST_COUNTER");
	uint8_t said = f ? (uint8_t)strtoul(f, NULL, 16) : 0x01;
	uint32_t counter = c ? (uint32_t)strtoul(c, NULL, 10) : 1;
	uint8_t signed_data[32 + 1 + 4 + 32];
	SHA256((const uint8_t *)application, strlen(application), signed_data);
	signed_data[32] = said;
	signed_data[33] = counter >> 24;
	signed_data[34] = counter >> 16;
	signed_data[35] = counter >> 8;
	signed_data[36] = counter;
	SHA256(data, data_len, signed_data + 37);
	EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, key_handle, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t sig[64];
	size_t siglen = sizeof(sig);
	int ok = key && ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, signed_data, sizeof(signed_data)) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	if (!ok) return SSH_SK_ERR_GENERAL;
	struct sk_sign_response *r = calloc(1, sizeof(*r));
	if (!r) return SSH_SK_ERR_GENERAL;
	r->flags = said;
	r->counter = counter;
	r->sig_r = copy(sig, siglen);
	r->sig_r_len = siglen;
	*sign_response = r;
	return 0;
}

int sk_load_resident_keys(const char *pin, struct sk_option **options,
    struct sk_resident_key ***rks, size_t *nrks) {
	(void)pin; (void)options;
	*rks = NULL;
	*nrks = 0;
	return SSH_SK_ERR_UNSUPPORTED;
}
