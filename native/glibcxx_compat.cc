// Keeps the Linux addon loadable with the libstdc++ of the oldest systems Node's own binaries
// run on (RHEL 8, Debian 11: GLIBCXX_3.4.25 and .28; Node itself needs GLIBCXX_3.4.21).
// GCC >= 11's allocator calls std::__throw_bad_array_new_length() when a std::vector grows
// past max_size(), a function new in GLIBCXX_3.4.29. A local definition satisfies those calls
// at link time, so the addon imports no symbol newer than the ones Node needs.
// test/binary.test.ts reads the addon's symbol versions with objdump and holds it to that.
#include <cstdlib>
#include <new>

#if defined(__GLIBCXX__) && defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE >= 11
namespace std {
// The addon is built without exceptions: like any exception escaping, this ends the process.
[[noreturn]] __attribute__((visibility("hidden"))) void __throw_bad_array_new_length() { abort(); }
}  // namespace std
#endif
