// Boost.JSON compiled into the fuzz build (instead of linking Debian's uninstrumented libboost_json),
// so the fuzzer gets coverage feedback from the parser and the serializer.
#include <boost/json/src.hpp>
