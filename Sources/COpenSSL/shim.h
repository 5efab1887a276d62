#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/cms.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/opensslv.h>

/* Function-like macros and variadics are invisible to Swift: wrap them as static inline. */
static inline long shim_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline int  shim_BIO_flush(BIO *b) { return (int)BIO_flush(b); }
static inline STACK_OF(X509) *shim_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int  shim_sk_X509_push(STACK_OF(X509) *sk, X509 *x) { return sk_X509_push(sk, x); }
static inline void shim_sk_X509_pop_free(STACK_OF(X509) *sk) { sk_X509_pop_free(sk, X509_free); }
static inline void shim_sk_X509_free(STACK_OF(X509) *sk) { sk_X509_free(sk); }
static inline int  shim_sk_X509_num(const STACK_OF(X509) *sk) { return sk_X509_num(sk); }
static inline X509 *shim_sk_X509_value(const STACK_OF(X509) *sk, int i) { return sk_X509_value(sk, i); }
static inline void shim_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline EVP_PKEY *shim_EVP_RSA_gen(unsigned int bits) { return EVP_RSA_gen(bits); }
static inline EVP_PKEY *shim_EVP_EC_gen(const char *curve) { return EVP_EC_gen(curve); }
static inline int shim_GENERAL_NAMES_num(const GENERAL_NAMES *n) { return sk_GENERAL_NAME_num(n); }
static inline GENERAL_NAME *shim_GENERAL_NAMES_value(const GENERAL_NAMES *n, int i) { return sk_GENERAL_NAME_value(n, i); }
static inline unsigned long shim_XN_FLAG_RFC2253(void) { return XN_FLAG_RFC2253; }
static inline int shim_CMS_signer_count(CMS_ContentInfo *cms) { STACK_OF(CMS_SignerInfo) *s = CMS_get0_SignerInfos(cms); return s ? sk_CMS_SignerInfo_num(s) : -1; }
static inline void shim_GENERAL_NAMES_free(GENERAL_NAMES *n) { GENERAL_NAMES_free(n); }
static inline int shim_sk_X509_REVOKED_num(const STACK_OF(X509_REVOKED) *sk) { return sk ? sk_X509_REVOKED_num(sk) : 0; }
#endif
