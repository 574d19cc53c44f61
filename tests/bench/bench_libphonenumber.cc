/*
 * tests/bench/bench_libphonenumber.cc - the dialplan's peer in the same run:
 * libphonenumber (Debian's libphonenumber-dev) on the same corpus.
 *
 *   bench-libphonenumber CORPUS CANONICAL [DIALPLAN_FORMAT_RATE]
 *
 * Parses every number of CORPUS with PhoneNumberUtil::Parse(number, "DE")
 * and formats it with Format(E164) - the same job as dp_format for a
 * caller number in the benchmark location - on one core, best of
 * BENCH_ROUNDS rounds of BENCH_PASSES passes. CANONICAL holds the
 * dialplan's result per corpus line (bench-dialplan's CANONICAL_OUT); every
 * line where the two differ is counted (and the first few printed).
 * DIALPLAN_FORMAT_RATE, bench-dialplan's "dialplan_format" figure, gives
 * the ratio. One "bench NAME VALUE UNIT" line per figure.
 */
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

static const int BENCH_ROUNDS = 3;
static const int BENCH_PASSES = 2;

static bool read_lines(const char *path, std::vector<std::string> &out)
{
	std::ifstream f(path);
	std::string line;

	if (!f)
		return false;
	while (std::getline(f, line)) {
		if (!line.empty() && line.back() == '\r')
			line.pop_back();
		if (!line.empty())
			out.push_back(line);
	}
	return !out.empty();
}

/* The E.164 form libphonenumber makes of number in Germany, "error" when it
 * cannot parse it. */
static void e164(const PhoneNumberUtil *util, const std::string &number, std::string &out)
{
	PhoneNumber n;

	if (util->Parse(number, "DE", &n) != PhoneNumberUtil::NO_PARSING_ERROR) {
		out = "error";
		return;
	}
	util->Format(n, PhoneNumberUtil::E164, &out);
}

int main(int argc, char **argv)
{
	const PhoneNumberUtil *util = PhoneNumberUtil::GetInstance();
	std::vector<std::string> corpus, ours;
	std::string out;
	double best = 0;
	size_t differ = 0, sink = 0;

	if (argc < 3 || argc > 4) {
		std::fprintf(
			stderr,
			"usage: bench-libphonenumber CORPUS CANONICAL [DIALPLAN_FORMAT_RATE]\n");
		return 2;
	}
	if (!read_lines(argv[1], corpus) || !read_lines(argv[2], ours) ||
	    corpus.size() != ours.size()) {
		std::fprintf(stderr, "bench-libphonenumber: cannot read %s and %s (same length)\n",
			     argv[1], argv[2]);
		return 1;
	}

	for (size_t i = 0; i < corpus.size(); i++) {
		e164(util, corpus[i], out);
		if (out != ours[i] && differ++ < 10)
			std::printf("# differ: %s: dialplan %s, libphonenumber %s\n",
				    corpus[i].c_str(), ours[i].c_str(), out.c_str());
	}

	for (int round = 0; round < BENCH_ROUNDS; round++) {
		auto t0 = std::chrono::steady_clock::now();

		for (int p = 0; p < BENCH_PASSES; p++) {
			for (const std::string &number : corpus) {
				e164(util, number, out);
				sink += out.size();
			}
		}
		std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
		double rate = (double)corpus.size() * BENCH_PASSES / dt.count();
		if (rate > best)
			best = rate;
	}

	std::printf("# libphonenumber: %zu numbers, Parse(\"DE\") + Format(E164) (sink %zu)\n",
		    corpus.size(), sink);
	std::printf("bench libphonenumber_parse_format %.0f numbers/s\n", best);
	if (argc == 4) {
		double ours_rate = std::strtod(argv[3], nullptr);
		std::printf("bench dialplan_vs_libphonenumber_ratio %.1f x\n", ours_rate / best);
	}
	std::printf("bench dialplan_vs_libphonenumber_differ %zu numbers\n", differ);
	return differ ? 1 : 0;
}
