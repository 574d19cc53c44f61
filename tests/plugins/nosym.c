/*
 * tests/plugins/nosym.c - a valid shared object without the descriptor
 * symbol: the loader must refuse it as "not a ucsd plugin".
 */
int nosym_value(void);
int nosym_value(void)
{
	return 1;
}
