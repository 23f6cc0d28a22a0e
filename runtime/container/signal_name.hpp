#pragma once
// "SIGTERM" for 15 and so on, as the Docker API and Apple's CLI spell signals; other
// numbers as decimal text (both accept those too).
#include <string>

namespace sb::container {

std::string signal_name(int signal);

}  // namespace sb::container
