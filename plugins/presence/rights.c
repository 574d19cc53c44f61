/*
 * plugins/presence/rights.c - the rights engine (being written).
 */
#include "rights.h"
