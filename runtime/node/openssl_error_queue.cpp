// A workaround for a denial of service in CAF 0.17's OpenSSL module. OpenSSL keeps one error
// queue per thread, and SSL_get_error() reports SSL_ERROR_SSL whenever that queue is not
// empty. CAF runs every TLS connection of a node on one network thread and never clears the
// queue: a peer that fails its handshake (a stranger speaking plain TCP, a wrong
// certificate) leaves an error behind, and the next harmless "want read" of a *healthy*
// connection is then taken as fatal and that connection is closed. Unguarded, one rogue
// connect is enough to cut every contributor off the registry (tests/integration/security_tls.sh).
//
// OpenSSL's rule is that the queue must be empty before an SSL I/O call. We cannot change
// CAF's code, so the llamps binary defines the four calls CAF makes; the dynamic linker binds
// libcaf_openssl's calls to these definitions (the executable comes first in symbol lookup),
// and each clears the queue and calls OpenSSL's own function.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "runtime/node/system.hpp"

namespace {

template <class F>
F openssl_function(const char* name) {
  auto f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
  if (!f) {
    std::fprintf(stderr, "llamps: cannot find OpenSSL's %s: %s\n", name, dlerror());
    std::abort();
  }
  return f;
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = openssl_function<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = openssl_function<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static auto next = openssl_function<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

int SSL_connect(SSL* ssl) {
  static auto next = openssl_function<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"

namespace llamps {

// Referenced by system_config, so that the linker takes this file out of the static library
// into every binary that runs TLS.
bool openssl_error_queue_guarded() {
  return dlsym(RTLD_DEFAULT, "SSL_read") == reinterpret_cast<void*>(&SSL_read);
}

} // namespace llamps
