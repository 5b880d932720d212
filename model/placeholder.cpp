#include "model/errors.hpp"
