/*
 * plugins/userdb-common/tests/test_picture.c - picture scaling of
 * userdb-common (udb_picture.c): PNG, JPEG and GIF in, PNG out at the
 * clients' sizes; data that is no image, a truncated one and a header that
 * claims a huge image are refused before anything is decoded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gd.h>

#include "check.h"
#include "udb.h"

/* A w x h test image: left half red, right half blue. */
static void *make(int w, int h, const char *fmt, int *size)
{
	gdImagePtr im = gdImageCreateTrueColor(w, h);
	void *data;

	gdImageFilledRectangle(im, 0, 0, w / 2 - 1, h - 1, gdTrueColor(255, 0, 0));
	gdImageFilledRectangle(im, w / 2, 0, w - 1, h - 1, gdTrueColor(0, 0, 255));
	if (strcmp(fmt, "png") == 0)
		data = gdImagePngPtr(im, size);
	else if (strcmp(fmt, "jpeg") == 0)
		data = gdImageJpegPtr(im, size, 90);
	else
		data = gdImageGifPtr(im, size);
	gdImageDestroy(im);
	return data;
}

/* Scales and decodes the result; returns its size (w, h) or -1. */
static int scaled(const void *data, size_t len, int which, int *w, int *h, int *centre_red)
{
	void *png = NULL;
	size_t png_len = 0;
	gdImagePtr im;
	int rc = udb_picture_scale(data, len, which, &png, &png_len);

	if (rc)
		return rc;
	CHECK(png_len > 8 && memcmp(png, "\x89PNG", 4) == 0);
	im = gdImageCreateFromPngPtr((int)png_len, png);
	free(png);
	if (!im)
		return -1;
	*w = gdImageSX(im);
	*h = gdImageSY(im);
	if (centre_red) {
		int c = gdImageGetTrueColorPixel(im, *w / 4, *h / 2);
		*centre_red = gdTrueColorGetRed(c) > 200 && gdTrueColorGetBlue(c) < 50;
	}
	gdImageDestroy(im);
	return 0;
}

static void test_formats(void)
{
	static const char *const fmts[] = {"png", "jpeg", "gif"};

	for (int i = 0; i < 3; i++) {
		int size = 0, w = 0, h = 0, red = 0;
		void *img = make(300, 150, fmts[i], &size);

		CHECK(img != NULL);
		CHECK_INT(scaled(img, (size_t)size, 0, &w, &h, &red), ==, 0);
		CHECK_INT(w, ==, 96);
		CHECK_INT(h, ==, 96);
		CHECK(red); /* the left quarter of the centre square is red */
		CHECK_INT(scaled(img, (size_t)size, 1, &w, &h, &red), ==, 0);
		CHECK_INT(w, ==, 400);
		CHECK_INT(h, ==, 200); /* aspect ratio kept */
		CHECK(red);
		gdFree(img);
	}
	{
		/* small pictures are scaled up; tall ones are cut at 4:1 */
		int size = 0, w = 0, h = 0;
		void *img = make(10, 20, "png", &size);
		CHECK_INT(scaled(img, (size_t)size, 1, &w, &h, NULL), ==, 0);
		CHECK_INT(w, ==, 400);
		CHECK_INT(h, ==, 800);
		gdFree(img);
		img = make(10, 100, "png", &size);
		CHECK_INT(scaled(img, (size_t)size, 1, &w, &h, NULL), ==, 0);
		CHECK_INT(h, ==, 1600);
		CHECK_INT(scaled(img, (size_t)size, 0, &w, &h, NULL), ==, 0);
		CHECK_INT(w, ==, 96);
		gdFree(img);
	}
}

static void test_refused(void)
{
	static const unsigned char huge_png[] = {
		0x89, 'P',  'N',  'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0,
		0,    0x4e, 0x20, 0,   0,    0x4e, 0x20, 8,    6, 0, 0, 0,  0,	 0,   0,   0,	0};
	static const unsigned char zero_gif[] = {'G', 'I', 'F', '8', '9', 'a', 0, 0, 0, 0, 0, 0};
	void *png = (void *)1;
	size_t len = 1;
	int size = 0;
	void *img;

	CHECK_INT(udb_picture_scale("hello, world", 12, 0, &png, &len), ==, -EINVAL);
	CHECK(png == NULL && len == 0);
	CHECK_INT(udb_picture_scale(huge_png, sizeof(huge_png), 0, &png, &len), ==, -EINVAL);
	CHECK_INT(udb_picture_scale(zero_gif, sizeof(zero_gif), 0, &png, &len), ==, -EINVAL);
	CHECK_INT(udb_picture_scale(NULL, 0, 0, &png, &len), ==, -EINVAL);
	CHECK_INT(udb_picture_scale("\xff\xd8\xff\xe0", 4, 0, &png, &len), ==, -EINVAL);
	img = make(50, 50, "png", &size);
	CHECK_INT(udb_picture_scale(img, (size_t)size, 2, &png, &len), ==, -EINVAL);
	CHECK_INT(udb_picture_scale(img, UDB_PICTURE_IN_MAX + 1, 0, &png, &len), ==, -EINVAL);
	/* truncated in the middle of the image data */
	CHECK_INT(udb_picture_scale(img, (size_t)size / 2, 0, &png, &len), ==, -EINVAL);
	gdFree(img);
	img = make(50, 50, "jpeg", &size);
	CHECK_INT(udb_picture_scale(img, 200, 0, &png, &len), ==, -EINVAL);
	gdFree(img);
}

int main(void)
{
	test_formats();
	test_refused();
	return check_report();
}
